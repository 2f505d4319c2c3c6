"""The worker in its test mode: backends/python/worker/main.py with the test oracles' requests
answered beside the product's (PROTOCOL.md, "Test mode"). testing/worker_oracles.ts starts it in
place of worker/main.py; the product's worker never imports this module and answers these
requests "unknown request type".

- raster: a plain raster loop in the worker (raster_loop.py), the oracle of the engine's raster
  and planned generation: {images, cfgScale, cfgInterval, sampling} -> grids [B, H, W];
- sample: the worker's device sampler on given logits [rows, vocab] and keys [rows] (u32 bits)
  -> tokens [rows], the oracle of the TypeScript sampler;
- inspect: load and validate another checkpoint without keeping it -> its config.json contents
  and a checksum of its weights (sum of |w|).

Usage: python testing/python/oracle_worker.py   (stdio frames, exactly as worker/main.py)
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.abspath(os.path.join(HERE, "..", "..", "backends", "python", "worker"))
sys.path[:0] = [WORKER, HERE]  # the worker's modules first: no test module shadows one

import main  # noqa: E402 - the worker's entry point (standard library only until the hello)


def raster(worker, header, arrays):
    from raster_loop import generate_raster
    grids = generate_raster(worker.model(), header)
    worker.reply({"type": "grids", "shape": list(grids.shape)}, {"grids": grids})


def sample_rows(worker, header, arrays):
    """Device sampling of given logits: logits [rows, vocab], keys [rows] (u32 bits)."""
    import numpy as np
    import torch

    from sampler import sample
    device, vocab = worker.options.device, int(header["vocab"])
    logits = torch.as_tensor(arrays["logits"].copy()).to(device).view(-1, vocab)
    keys = torch.as_tensor(arrays["keys"].astype(np.int64) & 0xFFFFFFFF).to(device)
    s = header["sampling"]
    tokens = sample(logits, keys, float(s["temperature"]), int(s["topK"]), float(s["topP"]))
    worker.reply({"type": "tokens"}, {"tokens": tokens.cpu().numpy().astype(np.int32)})


def inspect(worker, header, arrays):
    import families
    from families.family import LoadOptions
    o = worker.options
    options = LoadOptions(o.device, o.dtype, header.get("preset"), header.get("grid"),
                          header.get("heads"))
    config, checksum = families.inspect(str(header["model"]), options)
    worker.reply({"type": "inspected", "config": config, "checksum": checksum})


def oracles() -> dict:
    """The test-mode requests (called by main.main once torch is imported)."""
    return {"raster": raster, "sample": sample_rows, "inspect": inspect}


if __name__ == "__main__":
    sys.exit(main.guarded_main(oracles))
