"""zipar Python worker: LlamaGen on PyTorch, driven over stdio by backends/python/client.ts.

Reads the hello frame with the standard library only, so that a missing torch or numpy comes
back as one error frame naming the fix instead of a traceback. See ../PROTOCOL.md.
"""

import importlib
import json
import os
import struct
import sys
import threading
import time

PROTOCOL_VERSION = 1
FIX = ("run `deno task setup` (it makes .venv from backends/python/requirements.txt), "
       "or set ZIPAR_PYTHON to a python with torch and numpy")


def raw_frame(stream, header: dict):
    head = json.dumps(dict(header, buffers=[])).encode("utf-8")
    stream.write(struct.pack("<II", len(head), 0) + head)
    stream.flush()


def read_hello(stream) -> dict:
    head = stream.read(8)
    if len(head) < 8:
        sys.exit(0)
    header_len, payload_len = struct.unpack("<II", head)
    if header_len > 1 << 20 or payload_len != 0:
        raise SystemExit("first frame is not a hello frame")
    return json.loads(stream.read(header_len).decode("utf-8"))


def watch_parent():
    """Exit when the client dies (we are re-parented), so no worker is ever orphaned."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(4)


def main(server_module: str = "server"):
    """Handshake, then `server_module`.serve(hello, stdin, stdout) (vq_main.py: vq_server)."""
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (even by C code) goes to stderr, never into the frames
    sys.stdout = sys.stderr
    threading.Thread(target=watch_parent, daemon=True).start()
    hello = read_hello(stdin)
    if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
        raw_frame(stdout, {"type": "error", "message":
                           f"protocol mismatch: client speaks {hello.get('protocol')}, worker "
                           f"speaks {PROTOCOL_VERSION}; use the worker shipped with the client"})
        return 2
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as err:
        name = getattr(err, "name", None) or "torch"
        what = "PyTorch" if name == "torch" else name
        raw_frame(stdout, {"type": "error", "message":
                           f"{what} is not installed for {sys.executable} ({err}): {FIX}"})
        return 3
    serve = importlib.import_module(server_module).serve  # imports torch
    return serve(hello, stdin, stdout)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
