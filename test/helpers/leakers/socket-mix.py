#!/usr/bin/env python3
"""Leaker: the socket mix of a big capture, small: a listener; ESTABLISHED loopback pairs (both ends
held); client ends whose peer closed (CLOSE_WAIT, client side); accepted ends whose client closed
(CLOSE_WAIT, server side, some with unread data in Recv-Q); half-closed pairs (this side shut down
writing: FIN_WAIT2, the other end CLOSE_WAIT, both held); never-bound sockets (lsof "sock" rows);
unix socketpairs; a few sockets dup()ed onto a second fd. Then it forks: the child holds every
socket too (each socket has two owners), and adds a CLOSE_WAIT of its own.

Prints one JSON line {"ready": true, "pid": ..., "child": ...} then waits; exits by itself after
--lifetime seconds (the child with it).
Usage: socket-mix.py [--pairs=40] [--client-cw=30] [--server-cw=25] [--half=12] [--unbound=20] [--lifetime=60]
"""
import json
import os
import signal
import socket

from leaker import arg, loopback  # noqa: E402 (beside this file)

signal.alarm(arg("lifetime", 60))
keep = []
listener, connect = loopback(keep)

for _ in range(arg("pairs", 40)):            # ESTABLISHED, both ends held
    keep.extend(connect())
for _ in range(arg("client-cw", 30)):        # CLOSE_WAIT on the client side: the server closed
    client, server = connect()
    server.close()
    keep.append(client)
for i in range(arg("server-cw", 25)):        # CLOSE_WAIT on the server side: the client closed
    client, server = connect()
    if i % 3 == 0:
        client.sendall(b"request never read")
    client.close()
    keep.append(server)
for _ in range(arg("half", 12)):             # FIN_WAIT2 (shut down writing) and its CLOSE_WAIT peer
    client, server = connect()
    client.shutdown(socket.SHUT_WR)
    keep.extend((client, server))
for _ in range(arg("unbound", 20)):          # never bound: lsof "sock" rows
    keep.append(socket.socket())
for _ in range(5):                           # unix socketpairs
    keep.extend(socket.socketpair())
for s in keep[1:6]:                          # one socket on two fds of one process
    keep.append(os.dup(s.fileno()))

ready_r, ready_w = os.pipe()
child = os.fork()
if child == 0:
    signal.alarm(arg("lifetime", 60))        # alarms are not inherited
    os.close(ready_r)
    c, s = connect()                         # the child's own CLOSE_WAIT
    s.close()
    keep.append(c)
    os.write(ready_w, b".")
    os.close(ready_w)
    signal.pause()
    os._exit(0)
os.close(ready_w)
os.read(ready_r, 1)                          # the child is set up
os.close(ready_r)
print(json.dumps({"ready": True, "pid": os.getpid(), "child": child, "leaker": "socket-mix"}), flush=True)
signal.pause()
