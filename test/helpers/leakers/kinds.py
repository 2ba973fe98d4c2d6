#!/usr/bin/env python3
"""Leaker: holds the kinds of fd that are not sockets, as leaky programs do:
- --deleted=N files of --deleted-size=BYTES each, written and unlinked but kept open (log rotation
  without reopen), half in <dir>/logs and half in <dir>/tmp;
- --repeat=N fds on one path (<dir>/app.log, or --repeat-path=P), opened again and again;
- --inotify=N inotify instances, each with --watches=W watches on W directories of its own;
- --eventfd=N eventfds and --epoll=N epoll instances;
- --files=N ordinary files, open once each;
- --userns-max-instances=M: first moves into a new user namespace (uid 0 mapped to itself) and
  lowers /proc/sys/user/max_inotify_instances there to M (the host's limit is left alone).
Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
"""
import ctypes
import json
import os
import select
import shutil
import signal
import sys
import tempfile


from leaker import arg  # noqa: E402 (beside this file)


signal.alarm(arg("lifetime", 60))
libc = ctypes.CDLL(None, use_errno=True)

userns_max = arg("userns-max-instances", 0)
if userns_max > 0:
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        sys.exit(f"unshare(CLONE_NEWUSER): {os.strerror(ctypes.get_errno())}")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write("0 0 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write("0 0 1")
    with open("/proc/sys/user/max_inotify_instances", "w") as f:
        f.write(str(userns_max))

base = tempfile.mkdtemp(prefix="fdleak-kinds-")
held = []

deleted = arg("deleted", 0)
size = arg("deleted-size", 4096)
for sub in ("logs", "tmp"):
    os.makedirs(os.path.join(base, sub))
chunk = b"x" * size
for i in range(deleted):
    path = os.path.join(base, "logs" if i % 2 == 0 else "tmp", f"file-{i}.log")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, chunk)
    os.fsync(fd)
    os.unlink(path)
    held.append(fd)

repeat = arg("repeat", 0)
repeat_path = arg("repeat-path", os.path.join(base, "app.log"))
if repeat > 0 and not os.path.exists(repeat_path):
    with open(repeat_path, "w") as f:
        f.write("log\n")
for _ in range(repeat):
    held.append(os.open(repeat_path, os.O_WRONLY | os.O_APPEND))

for i in range(arg("files", 0)):
    path = os.path.join(base, f"data-{i}.txt")
    with open(path, "w") as f:
        f.write("data\n")
    held.append(os.open(path, os.O_RDONLY))

watches = arg("watches", 1)
for i in range(arg("inotify", 0)):
    fd = libc.inotify_init1(0)
    if fd < 0:
        sys.exit(f"inotify_init1 #{i + 1}: {os.strerror(ctypes.get_errno())}")
    for w in range(watches):
        d = os.path.join(base, f"watched-{i}-{w}")
        os.makedirs(d)
        if libc.inotify_add_watch(fd, d.encode(), 0x100) < 0:  # IN_CREATE
            sys.exit(f"inotify_add_watch: {os.strerror(ctypes.get_errno())}")
    held.append(fd)

for _ in range(arg("eventfd", 0)):
    held.append(os.eventfd(0))
epolls = [select.epoll() for _ in range(arg("epoll", 0))]


def cleanup(*_):
    shutil.rmtree(base, ignore_errors=True)
    os._exit(0)


signal.signal(signal.SIGTERM, cleanup)
signal.signal(signal.SIGALRM, cleanup)
print(json.dumps({
    "ready": True, "leaker": "kinds", "pid": os.getpid(), "dir": base, "deleted": deleted, "deletedSize": size,
    "repeat": repeat, "repeatPath": repeat_path, "inotify": arg("inotify", 0), "watches": watches,
}), flush=True)
while True:
    signal.pause()
