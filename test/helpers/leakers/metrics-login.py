#!/usr/bin/env python3
"""Leaker: per "login" a metrics client creates a TCP socket, its connect() to the metrics
collector fails (nothing listens there) and the error path never closes the socket.

A socket whose connect() was refused is back in TCP_CLOSE and unhashed: it holds an fd but has no
row in any /proc/net table (lsof: "sock ... protocol: TCP"). With --unconnected=N, N more sockets
are created and never even connect()ed (also no row). The login service itself listens on --port
(a socket that IS in /proc/net/tcp, so not every socket is an orphan).

Port 0 means any free port (the ready line says which): a shared host namespace has no fixed free one.
Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
Usage: metrics-login.py [--port=47100] [--metrics-port=47101] [--logins=12] [--unconnected=0] [--lifetime=60]
"""
import json
import os
import signal
import socket
import sys


from leaker import arg  # noqa: E402 (beside this file)


port = arg("port", 47100)
metrics_port = arg("metrics-port", 47101)
logins = arg("logins", 12)
unconnected = arg("unconnected", 0)
signal.alarm(arg("lifetime", 60))  # default action of SIGALRM: terminate

service = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
service.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
service.bind(("127.0.0.1", port))
service.listen(16)
port = service.getsockname()[1]
if metrics_port == 0:
    # A port nobody listens on: take a free one and give it back.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    metrics_port = probe.getsockname()[1]
    probe.close()

leaked = []
refused = 0
for _ in range(logins):
    metrics = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        metrics.connect(("127.0.0.1", metrics_port))
    except ConnectionRefusedError:
        refused += 1  # the bug: the error path forgets metrics.close()
    leaked.append(metrics)
for _ in range(unconnected):
    leaked.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))

print(json.dumps({
    "ready": True, "leaker": "metrics-login", "pid": os.getpid(), "port": port, "metricsPort": metrics_port,
    "listenFd": service.fileno(), "leakedFds": [s.fileno() for s in leaked],
    "leaked": len(leaked), "refused": refused,
}), flush=True)
while True:
    signal.pause()
