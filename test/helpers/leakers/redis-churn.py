#!/usr/bin/env python3
"""Leaker: redis-like churn in one network namespace, three processes:
- a "redis" server on 127.0.0.1:--port (forked) answering each "PING" line with "+PONG";
- the client (this process, the leader) opening one connection per command and closing it first,
  so every command leaves a TIME_WAIT row towards 127.0.0.1:--port (inode 0, 60 s). --phases
  says how many commands to run under which ip_local_port_range, e.g. "1200@50000-51499,300@40000-40999":
  the range is written (this namespace's own /proc/sys) before each phase, as an operator's
  `sysctl -w net.ipv4.ip_local_port_range=...` would; --hold=1 keeps one connection open (a
  client with a command in flight when it is diagnosed);
- with --bystander-port, another "redis" (forked) listening there whose soft RLIMIT_NOFILE is
  --bystander-limit and which fills 90% of it with files: not part of the churn at all.
With --server-closes=1 the server closes each connection after its reply (as nginx does when a
request ends) and the TIME_WAIT rows are on the server's side, on its listener's port.

Prints one JSON line {"ready": true, ...} then waits; exits by itself after --lifetime seconds.
--bind: the servers' listening address (0.0.0.0: a wildcard listener, as nginx's `listen 8080`).
Usage: redis-churn.py [--bind=127.0.0.1] [--port=6379] [--phases=150@] [--hold=0] [--server-closes=0] [--bystander-port=0]
                      [--bystander-limit=64] [--lifetime=60]
"""
import json
import os
import resource
import selectors
import signal
import socket
import sys


from leaker import arg  # noqa: E402 (beside this file)


lifetime = arg("lifetime", 60)
port = arg("port", 6379)
SERVER_CLOSES = arg("server-closes", 0) == 1


def serve(listener):
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            data = conn.recv(4096)
            if data:
                conn.sendall(b"+PONG\r\n")
                if SERVER_CLOSES:  # like nginx ending a request: the server's side keeps TIME_WAIT
                    sel.unregister(conn)
                    conn.close()
            else:  # the client closed first: close too (LAST_ACK here, TIME_WAIT on its side)
                sel.unregister(conn)
                conn.close()


def listen(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((arg("bind", "127.0.0.1"), p))
    s.listen(511)
    return s


def fork_child(body):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.alarm(lifetime)
        try:
            body(w)
        finally:
            os._exit(0)
    os.close(w)
    msg = os.read(r, 100).decode()
    os.close(r)
    return pid, int(msg)


def server_body(w):
    s = listen(port)
    os.write(w, str(s.getsockname()[1]).encode())
    os.close(w)
    serve(s)


def bystander_body(w):
    limit = arg("bystander-limit", 64)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    s = listen(arg("bystander-port", 6380))
    held = []
    while len(os.listdir("/proc/self/fd")) < -(-limit * 9 // 10):
        held.append(open("/dev/null"))
    os.write(w, str(s.getsockname()[1]).encode())
    os.close(w)
    serve(s)


signal.alarm(lifetime)
server_pid, port = fork_child(server_body)
bystander_pid = None
if arg("bystander-port", 0) != 0:
    bystander_pid, _ = fork_child(bystander_body)

commands = 0
for phase in arg("phases", "150@").split(","):
    count, _, rng = phase.partition("@")
    if rng:
        with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
            f.write(rng.replace("-", " "))
    for _ in range(int(count)):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"PING\r\n")
        c.recv(64)
        if SERVER_CLOSES:
            while c.recv(64):
                pass  # wait for the server's FIN: it closed first
        c.close()  # client first (unless --server-closes): TIME_WAIT here
        commands += 1

held = []
for _ in range(arg("hold", 0)):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"PING\r\n")
    c.recv(64)
    held.append(c)

print(json.dumps({"ready": True, "pid": os.getpid(), "leaker": "redis-churn", "port": port, "serverPid": server_pid,
                  "bystanderPid": bystander_pid, "commands": commands}), flush=True)
signal.pause()
