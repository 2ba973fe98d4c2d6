#!/usr/bin/env python3
"""Leaker: sockets created and never bound nor connected (socket() only), of several protocols:
they are in no socket table of the namespace (orphans), and only the socket inode's
system.sockprotoname xattr (what lsof reads) tells TCP from UDP from TCPv6. Optionally --thread-name
starts a thread named so (prctl PR_SET_NAME) and reports its tid.

Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
Usage: unbound-sockets.py [--tcp=5] [--udp=3] [--tcp6=2] [--thread-name=] [--lifetime=60]
"""
import ctypes
import json
import os
import signal
import socket
import sys
import threading


from leaker import arg  # noqa: E402 (beside this file)


signal.alarm(arg("lifetime", 60))
held = []
fds = {}
for proto, family, kind, n in (("TCP", socket.AF_INET, socket.SOCK_STREAM, arg("tcp", 5)),
                               ("UDP", socket.AF_INET, socket.SOCK_DGRAM, arg("udp", 3)),
                               ("TCPv6", socket.AF_INET6, socket.SOCK_STREAM, arg("tcp6", 2))):
    for _ in range(n):
        s = socket.socket(family, kind)
        held.append(s)
        fds.setdefault(proto, []).append(s.fileno())

tid = None
name = arg("thread-name", "")
if name:
    started = threading.Event()
    box = {}

    def worker():
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name.encode()), 0, 0, 0)  # PR_SET_NAME: this thread
        box["tid"] = threading.get_native_id()
        started.set()
        threading.Event().wait()

    threading.Thread(target=worker, daemon=True).start()
    started.wait()
    tid = box["tid"]

print(json.dumps({"ready": True, "pid": os.getpid(), "leaker": "unbound-sockets", "fds": fds, "tid": tid}), flush=True)
signal.pause()
