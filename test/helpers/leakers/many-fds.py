#!/usr/bin/env python3
"""Leaker: holds exactly --fds open fds (stdio included): files on /dev/null, a few pipes and
loopback sockets, like a server that never closes what it opens. Raises its soft RLIMIT_NOFILE as
needed (up to the hard limit).

Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
Usage: many-fds.py [--fds=9000] [--lifetime=60]
"""
import json
import os
import resource
import signal
import socket
import sys


from leaker import arg  # noqa: E402 (beside this file)


target = arg("fds", 9000)
signal.alarm(arg("lifetime", 60))
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, target + 64), hard))


def open_count():
    return len(os.listdir("/proc/self/fd")) - 1  # minus the directory fd listdir itself holds


held = []
for _ in range(4):
    held.extend(os.pipe())
    held.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
missing = target - open_count()
held.extend(os.open("/dev/null", os.O_RDONLY) for _ in range(max(0, missing)))
assert open_count() == target, (open_count(), target)

print(json.dumps({"ready": True, "leaker": "many-fds", "pid": os.getpid(), "open": open_count()}), flush=True)
while True:
    signal.pause()
