"""What the python leakers share: their `--name=value` arguments (each leaker imports this file from
its own directory, which python puts first on sys.path when it runs the leaker)."""
import sys


def arg(name, default):
    """The value of --name=value, of the type of `default` (text when the default is None or text)."""
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            v = a.split("=", 1)[1]
            return v if default is None or isinstance(default, str) else type(default)(v)
    return default
