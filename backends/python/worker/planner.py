"""Planned mode: run a compiled plan with a device-resident grid and device sampling.

The plan is core/plan's EncodedPlan (per-image query template of every step). Every step runs
for every sequence of the session, which must be the family's conditions_for(images, cfgScale):
for LlamaGen the images (conditional halves) then the images again (unconditional halves) when
cfgScale != 1. Query inputs are read from the grid on the device; the host only learns the
tokens at the end. Family-independent: the family's session runs each forward.
"""

from dataclasses import dataclass
from typing import Callable, List

import numpy as np
import torch

from families.family import FamilySession
from sampler import cell_key, mix_cfg, sample
from step_index import StepIndex

INPUT_CONDITION = -1  # core/step.ts: the sequence's condition (prefix slots)
INPUT_EOL = -2  # core/step.ts: the end-of-line token


def check_plan(info: dict, num_slots: int, step_start, slot, inp, predicts, height, width):
    if height != info["height"] or width != info["width"]:
        raise ValueError(f"plan grid {height}x{width} does not match the model's "
                         f"{info['height']}x{info['width']}")
    n = len(slot)
    if len(step_start) < 2 or step_start[0] != 0 or step_start[-1] != n \
            or np.any(np.diff(step_start) <= 0):
        raise ValueError("plan stepStart must rise strictly from 0 to the number of queries")
    if len(inp) != n or len(predicts) != n:
        raise ValueError("plan arrays slot, input, predicts must have equal lengths")
    cells = height * width
    if slot.min() < 0 or slot.max() >= num_slots:
        raise ValueError(f"plan slot outside 0..{num_slots - 1}")
    if info["eolToken"] is None and np.any(inp == INPUT_EOL):
        raise ValueError(f"{info['family']} has no end-of-line token, but the plan asks for one")
    lowest = INPUT_CONDITION if info["eolToken"] is None else INPUT_EOL
    if inp.min() < lowest or inp.max() >= cells:
        raise ValueError(f"plan input outside {lowest}..{cells - 1}")
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
    inp: torch.Tensor  # [seqs*nq] plan input: cell index, -1 condition, -2 EOL
    nw: int  # queries with logits per sequence
    img: torch.Tensor  # [B*nw] image of each sampled cell
    cell: torch.Tensor  # [B*nw] cell index r*W + c sampled
    keys: torch.Tensor  # [B*nw] draw keys


def prepare_step(session: FamilySession, arrays: dict, j: int, b: int,
                 keys: torch.Tensor) -> StepWork:
    device = session.device
    lo, hi = int(arrays["stepStart"][j]), int(arrays["stepStart"][j + 1])
    seqs, nq = session.num_seqs, hi - lo
    seq = np.repeat(np.arange(seqs), nq)
    slot = np.tile(arrays["slot"][lo:hi], seqs)
    pred = arrays["predicts"][lo:hi]
    want = np.tile(pred >= 0, seqs)
    ix = session.index(seq, slot, want)
    inp = torch.as_tensor(np.tile(arrays["input"][lo:hi], seqs).astype(np.int64)).to(device)
    nw = int((pred >= 0).sum())
    cell = torch.as_tensor(np.tile(pred[pred >= 0], b).astype(np.int64)).to(device)
    img = torch.arange(b, device=device).repeat_interleave(nw)
    return StepWork(seq, slot, want, ix, inp, nw, img, cell, keys[img, cell])


def keep_guided(mixed: torch.Tensor, cond: torch.Tensor, cell: torch.Tensor,
                interval: int) -> torch.Tensor:
    """LlamaGen's cfg_interval (core/cfg.ts cfgGuides): the rows whose cell's raster index is
    past interval + 1 take their conditional logits as is; -1 keeps every row guided.
    mixed, cond: [n, vocab]; cell: [n] raster indices r*W + c."""
    if interval < 0:
        return mixed
    return torch.where((cell <= interval + 1)[:, None], mixed, cond)


def draw_keys(images: List[dict], cells: int, width: int, device) -> torch.Tensor:
    """keys: [B, H*W] draw key of every cell, hashed on the host with Python ints."""
    return torch.tensor([[cell_key(int(im["seed"]), int(im["index"]), c // width, c % width)
                          for c in range(cells)] for im in images], dtype=torch.int64).to(device)


@torch.no_grad()
def run_plan(family, session: FamilySession, plan: dict, arrays: dict,
             progress: Callable[[int], None]):
    """Run every step; returns grids: [B, H, W] int32 on the host."""
    device, info = session.device, family.info
    step_start, slot = arrays["stepStart"], arrays["slot"]
    inp, predicts = arrays["input"], arrays["predicts"]
    height, width = int(plan["height"]), int(plan["width"])
    check_plan(info, session.num_slots, step_start, slot, inp, predicts, height, width)
    images: List[dict] = plan["images"]
    scale, interval = float(plan["cfgScale"]), int(plan.get("cfgInterval", -1))
    sampling = plan["sampling"]
    temperature, top_k = float(sampling["temperature"]), int(sampling["topK"])
    top_p, every = float(sampling["topP"]), int(plan.get("progressEvery", 0))
    b = len(images)
    expected = family.conditions_for(images, scale)
    if session.conditions != expected:
        raise ValueError(f"session sequences {session.conditions} do not match the plan's "
                         f"images and CFG halves {expected}")
    halves = session.num_seqs // b
    cells = height * width
    keys = draw_keys(images, cells, width, device)
    grid = torch.full((b, cells), -1, dtype=torch.int64, device=device)  # [B, H*W]
    eol = -1 if info["eolToken"] is None else int(info["eolToken"])
    session.reset()
    work = [prepare_step(session, arrays, j, b, keys) for j in range(len(step_start) - 1)]
    for j, w in enumerate(work):
        image = w.ix.seq % b  # [seqs*nq]
        literal = torch.where(w.inp == INPUT_EOL, torch.full_like(w.inp, eol), w.inp)
        token = torch.where(w.inp >= 0, grid[image, w.inp.clamp(min=0)], literal)
        logits = session.forward(w.seq, w.slot, token, w.want, w.ix)  # [seqs*nw, vocab]
        if w.nw:
            logits = logits.view(halves, b, w.nw, -1)
            mixed = mix_cfg(logits[0], logits[-1], scale).reshape(b * w.nw, -1)  # [B*nw, vocab]
            if scale != 1:
                mixed = keep_guided(mixed, logits[0].reshape(b * w.nw, -1), w.cell, interval)
            grid[w.img, w.cell] = sample(mixed, w.keys, temperature, top_k, top_p)
        if every > 0 and (j + 1) % every == 0 and j + 1 < len(work):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            progress(j + 1)
    out = grid.cpu().numpy()
    if np.any(out < 0):
        raise ValueError("plan finished with cells never decoded")
    return out.astype(np.int32).reshape(b, height, width)
