#!/usr/bin/env python3
"""Leaker: lowers its own soft RLIMIT_NOFILE to --limit and opens fds (files, a few pipes) until
--percent of it is in use, like a server slowly filling its fd table.

Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
Usage: near-limit.py [--limit=200] [--percent=90] [--lifetime=60]
"""
import json
import math
import os
import resource
import signal
import sys


from leaker import arg  # noqa: E402 (beside this file)


limit = arg("limit", 200)
target = math.ceil(limit * arg("percent", 90) / 100)
signal.alarm(arg("lifetime", 60))
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def open_count():
    return len(os.listdir("/proc/self/fd")) - 1  # minus the directory fd listdir itself holds


held = []
pipes = 0
while open_count() < target:
    if pipes < 4 and open_count() + 2 <= target:
        held.extend(os.pipe())
        pipes += 1
    else:
        held.append(os.open("/dev/null", os.O_RDONLY))

print(json.dumps({
    "ready": True, "leaker": "near-limit", "pid": os.getpid(), "soft": limit, "hard": hard,
    "open": open_count(), "opened": len(held),
}), flush=True)
while True:
    signal.pause()
