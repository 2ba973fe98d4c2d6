"""Leaks TCP client sockets to a listener of its own on 127.0.0.1 (never accepted); also opens and
closes files. Usage: leaky.py N_LEAK N_CLOSED SECONDS. Prints {"ready": true, "pid": N, "port": P}."""
import json, os, socket, sys, time

n_leak, n_closed, seconds = (int(a) for a in sys.argv[1:4])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1024)
port = listener.getsockname()[1]
kept = []
for i in range(max(n_leak, n_closed)):
    if i < n_closed:
        with open("/dev/null") as f:
            f.read()
    if i < n_leak:
        kept.append(socket.create_connection(("127.0.0.1", port)))  # never closed
print(json.dumps({"ready": True, "pid": os.getpid(), "port": port}), flush=True)
time.sleep(seconds)
