"""zipar Python worker: model families and image decoders on PyTorch, driven over stdio by
backends/python/worker_process.ts (client.ts, vq_client.ts).

Reads the hello frame with the standard library only, so that a missing torch or numpy comes
back as one error frame naming the fix instead of a traceback; then server.serve answers every
request in one loop. See ../PROTOCOL.md.

The tests start the same worker in a test mode through testing/python/oracle_worker.py, which
calls guarded_main with the test oracles' handlers; this module never imports them.
"""

import os
import signal
import sys
import threading
import time
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import missing_dependencies  # noqa: E402
from protocol import PROTOCOL_VERSION, ProtocolError, read_hello, write_header  # noqa: E402


FRAMES = None  # the frame stream (the original stdout), once main() has set it up


def watch_parent():
    """Exit when the client dies (we are re-parented), so no worker is ever orphaned."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(4)


def main(more_handlers: Optional[Callable[[], dict]] = None) -> int:
    """Handshake, then server.serve(hello, stdin, stdout). more_handlers: called once torch is
    imported, {request type: handler} to answer besides server.HANDLERS (the test mode)."""
    # The client owns SIGINT and SIGTERM (cli/io/interrupt.ts): it kills this worker once it
    # has cleaned up. A Ctrl-C reaching the whole process group must not end us first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global FRAMES
    stdin = sys.stdin.buffer
    FRAMES = stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (even by C code) goes to stderr, never into the frames
    sys.stdout = sys.stderr
    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        hello = read_hello(stdin)
    except (ProtocolError, ValueError) as err:
        write_header(stdout, {"type": "error", "message": str(err)})
        return 2
    if hello is None:
        return 0
    # Answer at once, before torch is imported: the client gives a program that says nothing
    # a short startTimeoutMs, and loading the model the longer handshake limit.
    write_header(stdout, {"type": "progress", "stage": "started"})
    if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
        write_header(stdout, {"type": "error", "message":
                              f"protocol mismatch: client speaks {hello.get('protocol')}, worker "
                              f"speaks {PROTOCOL_VERSION}; use the worker shipped with the client"})
        return 2
    problem = missing_dependencies()
    if problem:
        write_header(stdout, {"type": "error", "message": problem})
        return 3
    import server  # imports torch

    handlers = server.HANDLERS if more_handlers is None else {**server.HANDLERS, **more_handlers()}
    return server.serve(hello, stdin, stdout, handlers)


def guarded_main(more_handlers: Optional[Callable[[], dict]] = None) -> int:
    """main(more_handlers), with anything unexpected reported as one error frame, not a
    traceback (unless ZIPAR_DEBUG=1, which also prints it)."""
    try:
        return main(more_handlers)
    except Exception as err:  # noqa: BLE001 - the client shows one line
        if os.environ.get("ZIPAR_DEBUG") == "1":
            import traceback
            traceback.print_exc(file=sys.stderr)
        from errors import first_line
        try:
            frames = FRAMES or os.fdopen(os.dup(1), "wb")
            write_header(frames, {"type": "error", "message": first_line(err)})
        except OSError:
            pass
        return 1


if __name__ == "__main__":
    sys.exit(guarded_main())
