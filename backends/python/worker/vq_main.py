"""zipar VQ worker: the LlamaGen VQ-16 decoder on PyTorch, driven by backends/python/vq_client.ts.

Same process contract and handshake as main.py (hello read with the standard library, one
error frame naming the fix when torch is missing, parent watchdog); then vq_server.serve.
See ../PROTOCOL.md, "The VQ decoder worker".
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import main as worker  # noqa: E402

if __name__ == "__main__":
    try:
        sys.exit(worker.main("vq_server"))
    except KeyboardInterrupt:
        sys.exit(130)
