"""Planned mode: run a compiled plan with a device-resident grid and device sampling.

The plan is core/plan's EncodedPlan (per-image query template of every step). Every step runs
for every sequence of the session, which must be the family's conditions_for(images, cfgScale):
for LlamaGen the images (conditional halves) then the images again (unconditional halves) when
cfgScale != 1. Query inputs are read from the grid on the device; the host only learns the
tokens at the end. Family-independent: the family's session runs each forward.

CFG mixes with the plan's cfgScale, or, when the plan carries a cfgScales buffer (a model's
per-cell rule, Lumina-mGPT 2.0's decay), with the scale of the cell each row samples: the
numbers come from core/cfg.ts cfgScales; nothing here knows the rule.
"""

import os
from dataclasses import dataclass
from typing import Callable, List

import numpy as np
import torch

from contract import PLAN_INPUT_CONDITION as INPUT_CONDITION  # core/contract.json
from contract import PLAN_INPUT_EOL as INPUT_EOL
from device_pack import pack
from families.family import FamilySession
from sampler import cell_key, mix_cfg, prepare, sample
from step_profile import STEP, loop, profiling, scope


def check_plan(info: dict, num_slots: int, step_start, slot, inp, predicts, height, width,
               cfg_scales=None):
    """core/plan.ts checkPlan's twin, same checks and words; cfg_scales: the run's per-cell CFG
    scales [H*W] (the plan's cfgScales buffer), or None."""
    if height != info["height"] or width != info["width"]:
        raise ValueError(f"plan grid {height}x{width} does not match the model's "
                         f"{info['height']}x{info['width']}")
    cells = height * width
    if cfg_scales is not None and (len(cfg_scales) != cells or not np.all(
            np.isfinite(cfg_scales) & (cfg_scales >= 1))):
        raise ValueError(f"plan cfgScales must be {cells} finite scales ≥ 1, one per grid cell "
                         f"(got {len(cfg_scales)})")
    n = len(slot)
    if len(step_start) < 2 or step_start[0] != 0 or step_start[-1] != n \
            or np.any(np.diff(step_start) <= 0):
        raise ValueError("plan stepStart must rise strictly from 0 to the number of queries")
    if len(inp) != n or len(predicts) != n:
        raise ValueError("plan arrays slot, input, predicts must have equal lengths")
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
    """One plan step expanded over sequences, built on the host and packed (device_pack) with
    every other step of the plan before the first runs."""
    ix: object  # the session's index of the step
    image: object  # [seqs*nq] image of each query (its sequence mod B)
    src: object  # [seqs*nq] column of the padded grid holding each query's input token
    img: object  # [B*nw] image of each sampled cell
    cell: object  # [B*nw] cell index r*W + c sampled
    keys: object  # [B*nw] draw keys
    nw: int  # queries with logits per sequence


def prepare_step(session: FamilySession, arrays: dict, j: int, b: int, keys: np.ndarray,
                 cells: int) -> StepWork:
    """Step j of the plan on the host. Inputs read from the padded grid [B, cells + 2]: a
    cell's column, or column cells (the condition token) or cells + 1 (the EOL token)."""
    lo, hi = int(arrays["stepStart"][j]), int(arrays["stepStart"][j + 1])
    seqs, nq = session.num_seqs, hi - lo
    seq = np.repeat(np.arange(seqs), nq)
    slot = np.tile(arrays["slot"][lo:hi], seqs)
    pred = arrays["predicts"][lo:hi].astype(np.int64)
    want = np.tile(pred >= 0, seqs)
    inp = np.tile(arrays["input"][lo:hi].astype(np.int64), seqs)
    src = np.where(inp >= 0, inp, np.where(inp == INPUT_EOL, cells + 1, cells))
    nw = int((pred >= 0).sum())
    img = np.repeat(np.arange(b), nw)
    cell = np.tile(pred[pred >= 0], b)
    return StepWork(session.index(seq, slot, want), seq % b, src, img, cell, keys[img, cell],
                    nw)


def keep_guided(mixed: torch.Tensor, cond: torch.Tensor, cell: torch.Tensor,
                interval: int) -> torch.Tensor:
    """LlamaGen's cfg_interval (core/cfg.ts cfgGuides): the rows whose cell's raster index is
    past interval + 1 take their conditional logits as is; -1 keeps every row guided.
    mixed, cond: [n, vocab]; cell: [n] raster indices r*W + c."""
    if interval < 0:
        return mixed
    return torch.where((cell <= interval + 1)[:, None], mixed, cond)


def draw_keys(images: List[dict], cells: int, width: int) -> np.ndarray:
    """keys: [B, H*W] draw key of every cell, hashed on the host with Python ints."""
    return np.array([[cell_key(int(im["seed"]), int(im["index"]), c // width, c % width)
                      for c in range(cells)] for im in images], dtype=np.int64)


def sync_free(device: torch.device) -> bool:
    """Whether sampling keeps to device-only ops (no host reads): always on CUDA; on the CPU
    with ZIPAR_SYNC_FREE=1 (tests count the reads), else the CPU's faster pruned draw."""
    return device.type == "cuda" or os.environ.get("ZIPAR_SYNC_FREE") == "1"


class Progress:
    """Progress every `every` steps without stalling the stream: on CUDA a step counts as done
    when an event recorded after it has completed (asked without waiting)."""

    def __init__(self, device: torch.device, every: int, total: int,
                 report: Callable[[int], None]):
        self.device, self.every, self.total, self.report = device, every, total, report
        self.pending: List = []  # (steps done, event) in order
        self.said = 0

    def step_done(self, done: int):
        if self.every <= 0 or done % self.every or done >= self.total:
            return
        if self.device.type != "cuda":
            self.report(done)
            return
        event = torch.cuda.Event()
        event.record()
        self.pending.append((done, event))
        newest = 0
        while self.pending and self.pending[0][1].query():
            newest = self.pending.pop(0)[0]
        if newest > self.said:
            self.said = newest
            self.report(newest)


@torch.no_grad()
def run_plan(family, session: FamilySession, plan: dict, arrays: dict,
             progress: Callable[[int], None]):
    """Run every step; returns grids: [B, H, W] int32 on the host. The loop reads nothing back
    from the device until the grids at the end (syncs_check counts it)."""
    device, info = session.device, family.info
    step_start, slot = arrays["stepStart"], arrays["slot"]
    inp, predicts = arrays["input"], arrays["predicts"]
    height, width = int(plan["height"]), int(plan["width"])
    cfg_scales = arrays.get("cfgScales")  # [H*W] float32: the model's per-cell CFG scales
    check_plan(info, session.num_slots, step_start, slot, inp, predicts, height, width,
               cfg_scales)
    images: List[dict] = plan["images"]
    scale, interval = float(plan["cfgScale"]), int(plan.get("cfgInterval", -1))
    if cfg_scales is not None and scale == 1:
        raise ValueError("plan cfgScales need CFG, but its cfgScale is 1")
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
    keys = draw_keys(images, cells, width)  # [B, H*W]
    eol = -1 if info["eolToken"] is None else int(info["eolToken"])
    # [B, H*W + 2]: the cells, then the condition token and the EOL token as constant columns
    grid = torch.full((b, cells + 2), -1, dtype=torch.int64, device=device)
    grid[:, cells + 1] = eol
    guidance = torch.tensor(scale, dtype=torch.float32, device=device)  # once, not per step
    # [H*W] float32 on the device, once; a step gathers its rows' scales by cell (no host read)
    per_cell = None if cfg_scales is None else torch.from_numpy(
        np.array(cfg_scales, dtype=np.float32)).to(device)
    free = sync_free(device) or profiling()  # a profile counts the GPU's path
    if temperature > 0:
        prepare(int(info["vocab"]), device)
    session.reset()
    work = pack([prepare_step(session, arrays, j, b, keys, cells)
                 for j in range(len(step_start) - 1)], device)
    report = Progress(device, every, len(work), progress)
    with loop():  # step_profile counts host reads in here
        for j, w in enumerate(work):
            with scope(STEP):
                token = grid[w.image, w.src]  # [seqs*nq]
                logits = session.forward(None, None, token, None, w.ix)  # [seqs*nw, vocab]
                if w.nw:
                    logits = logits.view(halves, b, w.nw, -1)
                    mixed = logits[0].reshape(b * w.nw, -1)  # [B*nw, vocab]
                    if scale != 1:
                        # g: the plan's one scale, or each row's cell's own [B*nw, 1]
                        g = guidance if per_cell is None else per_cell[w.cell][:, None]
                        guided = mix_cfg(mixed, logits[-1].reshape(b * w.nw, -1), g)
                        mixed = keep_guided(guided, mixed, w.cell, interval)
                    grid[w.img, w.cell] = sample(mixed, w.keys, temperature, top_k, top_p,
                                                 sync_free=free)
            report.step_done(j + 1)
    out = grid[:, :cells].cpu().numpy()
    if np.any(out < 0):
        raise ValueError("plan finished with cells never decoded")
    return out.astype(np.int32).reshape(b, height, width)
