"""Planned mode: run a compiled plan with a device-resident grid and device sampling.

The plan is core/plan's EncodedPlan (per-image query template of every step). Every step runs
for every sequence: images (conditional halves) then images again (unconditional halves) when
cfgScale != 1. Query inputs are read from the grid on the device; the host only learns the
tokens at the end.
"""

from dataclasses import dataclass
from typing import Callable, List

import numpy as np
import torch

from model import StepIndex, build_index
from sampler import cell_key, mix_cfg, sample
from session import Session

INPUT_CONDITION = -1
INPUT_EOL = -2


def check_plan(cfg, step_start, slot, inp, predicts, height, width):
    if height != cfg.height or width != cfg.width:
        raise ValueError(f"plan grid {height}x{width} does not match the model's "
                         f"{cfg.height}x{cfg.width}")
    n = len(slot)
    if len(step_start) < 2 or step_start[0] != 0 or step_start[-1] != n \
            or np.any(np.diff(step_start) <= 0):
        raise ValueError("plan stepStart must rise strictly from 0 to the number of queries")
    if len(inp) != n or len(predicts) != n:
        raise ValueError("plan arrays slot, input, predicts must have equal lengths")
    cells = height * width
    if slot.min() < 0 or slot.max() >= cfg.num_slots:
        raise ValueError(f"plan slot outside 0..{cfg.num_slots - 1}")
    if np.any(inp == INPUT_EOL):
        raise ValueError("LlamaGen has no end-of-line token, but the plan asks for one")
    if inp.min() < INPUT_CONDITION or inp.max() >= cells:
        raise ValueError(f"plan input outside -1..{cells - 1}")
    if predicts.min() < -1 or predicts.max() >= cells:
        raise ValueError(f"plan predicts outside -1..{cells - 1}")
    step_of = np.repeat(np.arange(len(step_start) - 1), np.diff(step_start))  # [n]
    decoded_at = np.full(cells, len(step_start), dtype=np.int64)
    decoded_at[predicts[predicts >= 0]] = step_of[predicts >= 0]
    reads = inp >= 0
    if np.any(decoded_at[inp[reads]] >= step_of[reads]):
        raise ValueError("plan reads a grid cell before the step that decodes it")
    if np.any(decoded_at == len(step_start)):
        raise ValueError("plan never decodes some grid cells")


@dataclass
class StepWork:
    """One plan step expanded over sequences, with its device indices built ahead of time."""
    seq: np.ndarray  # [seqs*nq] sequence of each query, sequence-major
    slot: np.ndarray  # [seqs*nq] slot written
    want: np.ndarray  # [seqs*nq] bool, logits wanted
    ix: StepIndex
    inp: torch.Tensor  # [seqs*nq] plan input: cell index, or -1 for the class token
    nw: int  # queries with logits per sequence
    img: torch.Tensor  # [B*nw] image of each sampled cell
    cell: torch.Tensor  # [B*nw] cell index r*W + c sampled
    keys: torch.Tensor  # [B*nw] draw keys


def prepare_step(session: Session, arrays: dict, j: int, b: int, halves: int,
                 keys: torch.Tensor) -> StepWork:
    cfg, device = session.model.cfg, session.model.device
    lo, hi = int(arrays["stepStart"][j]), int(arrays["stepStart"][j + 1])
    seqs, nq = b * halves, hi - lo
    seq = np.repeat(np.arange(seqs), nq)
    slot = np.tile(arrays["slot"][lo:hi], seqs)
    pred = arrays["predicts"][lo:hi]
    want = np.tile(pred >= 0, seqs)
    ix = build_index(seq, slot, want, seqs, device, cfg.heads, cfg.num_slots)
    inp = torch.as_tensor(np.tile(arrays["input"][lo:hi], seqs).astype(np.int64)).to(device)
    nw = int((pred >= 0).sum())
    cell = torch.as_tensor(np.tile(pred[pred >= 0], b).astype(np.int64)).to(device)
    img = torch.arange(b, device=device).repeat_interleave(nw)
    return StepWork(seq, slot, want, ix, inp, nw, img, cell, keys[img, cell])


@torch.no_grad()
def run_plan(session: Session, plan: dict, arrays: dict, progress: Callable[[int], None]):
    """Run every step; returns grids: [B, H, W] int32 on the host."""
    model, cfg = session.model, session.model.cfg
    device = model.device
    step_start, slot = arrays["stepStart"], arrays["slot"]
    inp, predicts = arrays["input"], arrays["predicts"]
    height, width = int(plan["height"]), int(plan["width"])
    check_plan(cfg, step_start, slot, inp, predicts, height, width)
    images: List[dict] = plan["images"]
    scale = float(plan["cfgScale"])
    sampling = plan["sampling"]
    temperature, top_k = float(sampling["temperature"]), int(sampling["topK"])
    top_p, every = float(sampling["topP"]), int(plan.get("progressEvery", 0))
    b = len(images)
    halves = 1 if scale == 1 else 2
    expected = [int(im["condition"]) for im in images]
    if halves == 2:
        expected += [cfg.num_classes] * b
    if session.conditions != expected:
        raise ValueError(f"session sequences {session.conditions} do not match the plan's "
                         f"images and CFG halves {expected}")
    cells = height * width
    # keys: [B, H*W] draw key of every cell, hashed on the host with Python ints.
    keys = torch.tensor([[cell_key(int(im["seed"]), int(im["index"]), c // width, c % width)
                          for c in range(cells)] for im in images], dtype=torch.int64)
    keys = keys.to(device)
    grid = torch.full((b, cells), -1, dtype=torch.int64, device=device)  # [B, H*W]
    session.cache.reset()
    work = [prepare_step(session, arrays, j, b, halves, keys) for j in range(len(step_start) - 1)]
    for j, w in enumerate(work):
        image = w.ix.seq % b  # [seqs*nq]
        token = torch.where(w.inp >= 0, grid[image, w.inp.clamp(min=0)], w.inp)
        logits = session.forward(w.seq, w.slot, token, w.want, w.ix)  # [seqs*nw, vocab]
        if w.nw:
            logits = logits.view(halves, b, w.nw, -1)
            mixed = mix_cfg(logits[0], logits[-1], scale).reshape(b * w.nw, -1)  # [B*nw, vocab]
            grid[w.img, w.cell] = sample(mixed, w.keys, temperature, top_k, top_p)
        if every > 0 and (j + 1) % every == 0 and j + 1 < len(work):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            progress(j + 1)
    out = grid.cpu().numpy()
    if np.any(out < 0):
        raise ValueError("plan finished with cells never decoded")
    return out.astype(np.int32).reshape(b, height, width)
