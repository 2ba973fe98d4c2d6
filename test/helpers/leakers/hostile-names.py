#!/usr/bin/env python3
"""Leaker: a process whose name (comm) and argv are bytes chosen to attack a terminal: ESC
sequences, BEL, newline, tab, a bidi override, invalid UTF-8 (or plain UTF-8 such as café-数据).
--comm-hex: the comm bytes (prctl PR_SET_NAME, at most 15); --argv-hex: comma-separated hex
arguments, put in argv by re-executing itself (same pid). It lowers its soft RLIMIT_NOFILE to
--limit and fills 90% of it with files, so `diagnose` has a finding carrying its name; with
--listen=1 one of them is a TCP listener on 127.0.0.1 (a port the kernel picks), so `ss -tlnp` and
lsof name the process beside a socket.

Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
Usage: hostile-names.py --comm-hex=HEX [--argv-hex=HEX,HEX...] [--limit=20] [--listen=0] [--lifetime=60]
"""
import ctypes
import json
import os
import resource
import signal
import socket
import sys


from leaker import arg  # noqa: E402 (beside this file)


if "--stage2" not in sys.argv:
    argv = [bytes.fromhex(h) for h in arg("argv-hex", "").split(",") if h]
    keep = [a.encode() for a in sys.argv[1:]]
    os.execv(sys.executable, [sys.executable.encode(), os.fsencode(__file__), b"--stage2", *keep, b"--", *argv])

lifetime = int(arg("lifetime", "60"))
signal.alarm(lifetime)
limit = int(arg("limit", "20"))
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
held = []
port = None
if arg("listen", 0):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held.append(listener)
    port = listener.getsockname()[1]
while len(os.listdir("/proc/self/fd")) < -(-limit * 9 // 10):
    held.append(open("/dev/null"))
comm = bytes.fromhex(arg("comm-hex", ""))
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(comm), 0, 0, 0)  # PR_SET_NAME
print(json.dumps({"ready": True, "pid": os.getpid(), "leaker": "hostile-names", "comm": comm.hex(), "port": port}), flush=True)
signal.pause()
