#!/usr/bin/env python3
"""Leaker: a server listens with a small backlog and never calls accept(). Its own clients connect
(the kernel completes the handshake, so connect() returns), one sends a few bytes, and --close of
them hang up again: those unaccepted children go to CLOSE_WAIT with inode 0 (no fd) on the
listener's port, and the LISTEN row's rx_queue counts every queued child.

Port 0 means any free port (the ready line says which).
Prints one JSON line {"ready": true, ...} once /proc/self/net/tcp shows the queue, then waits;
exits by itself after --lifetime seconds.
Usage: backlog-listener.py [--port=47120] [--backlog=8] [--connect=7] [--close=3] [--lifetime=60]
"""
import json
import os
import signal
import socket
import sys
import time


from leaker import arg  # noqa: E402 (beside this file)


port = arg("port", 47120)
backlog = arg("backlog", 8)
connect = arg("connect", 7)
close = arg("close", 3)
signal.alarm(arg("lifetime", 60))

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(backlog)  # and never accept()
port = listener.getsockname()[1]

clients = []
for i in range(connect):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(("127.0.0.1", port))
    if i == 0:
        c.sendall(b"hello")
    clients.append(c)
for c in clients[connect - close:]:
    c.close()
kept = clients[:connect - close]


def queue_state():
    """(rx_queue of our LISTEN row, inode-0 CLOSE_WAIT rows on our port) from our netns's table."""
    hexport = f"{port:04X}"
    queued, close_wait = None, 0
    with open("/proc/self/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if not cols[1].endswith(":" + hexport):
                continue
            if cols[3] == "0A" and cols[9] == str(os.fstat(listener.fileno()).st_ino):
                queued = int(cols[4].split(":")[1], 16)
            elif cols[3] == "08" and cols[9] == "0":
                close_wait += 1
    return queued, close_wait


deadline = time.monotonic() + 10
while queue_state() != (connect, close) and time.monotonic() < deadline:
    time.sleep(0.02)
queued, close_wait = queue_state()

print(json.dumps({
    "ready": True, "leaker": "backlog-listener", "pid": os.getpid(), "port": port,
    "backlog": backlog, "listenFd": listener.fileno(), "connected": connect, "closedByClient": close,
    "queued": queued, "closeWaitUnaccepted": close_wait, "clientFds": [c.fileno() for c in kept],
}), flush=True)
while True:
    signal.pause()
