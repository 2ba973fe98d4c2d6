#!/usr/bin/env python3
"""Leaker: leaks --rate fds a second, forever (until --lifetime), in turn: the read end of a pipe
(the write end closed), a UDP socket bound to 127.0.0.1:0, and the log file --log reopened for
append and never closed. Like a worker that leaks one fd per request on an error path.

Prints one JSON line {"ready": true, ...} when the leaking starts.
Usage: steady-leak.py --log=PATH [--rate=5] [--limit=1024] [--lifetime=60]
"""
import json
import os
import resource
import signal
import socket
import sys
import time


from leaker import arg  # noqa: E402 (beside this file)


rate = arg("rate", 5.0)
log = arg("log", "/tmp/fdleak-steady-leak.log")
limit = arg("limit", 1024)
signal.alarm(arg("lifetime", 60))
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

kept = []


def leak(i):
    kind = i % 3
    if kind == 0:
        r, w = os.pipe()
        os.close(w)
        kept.append(r)
    elif kind == 1:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        kept.append(s)
    else:
        kept.append(open(log, "a"))


start = time.monotonic()
print(json.dumps({"ready": True, "pid": os.getpid(), "leaker": "steady-leak", "rate": rate, "limit": limit}), flush=True)
i = 0
while len(kept) < limit - 50:
    due = start + i / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    leak(i)
    i += 1
signal.pause()
