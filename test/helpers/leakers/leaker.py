"""What the python leakers share: their `--name=value` arguments and loopback connections with both
ends held (each leaker imports this file from its own directory, which python puts first on
sys.path when it runs the leaker; bench/lib.mjs's holders import it by path)."""
import socket
import sys


def arg(name, default):
    """The value of --name=value, of the type of `default` (text when the default is None or text)."""
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            v = a.split("=", 1)[1]
            return v if default is None or isinstance(default, str) else type(default)(v)
    return default


def loopback(keep):
    """A listener on 127.0.0.1 (appended to `keep`) and connect() -> (client, server): a new loopback
    connection through it, both ends returned, nothing kept."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    keep.append(listener)

    def connect():
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        return client, server

    return listener, connect
