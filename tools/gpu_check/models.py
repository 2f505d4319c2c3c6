"""What every part of the GPU check shares: the worker on sys.path (and testing/python/, whose
tiny_models.janus lends janus_rows.py its tokenizer and config builder), the model shapes (the
published LlamaGen c2i sizes, tiny ones for --quick), random LlamaGen weights made on the target
device in the target dtype, the plans compiled by zipar's core (plans.json), one planned
generation (run_plan) and its timing, and a cost model that tells the budget what a row of
generations will take."""

import gc
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.abspath(os.path.join(HERE, "..", "..", "backends", "python", "worker"))
TESTING = os.path.abspath(os.path.join(HERE, "..", "..", "testing", "python"))
for path in (TESTING, WORKER):  # the worker first: no test module shadows it
    if path not in sys.path:
        sys.path.insert(0, path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from families.llamagen import LlamaGen  # noqa: E402
from families.llamagen.config import ModelConfig, expected_shapes, preset_hidden  # noqa: E402
from families.llamagen.gpt import LlamaGenGPT  # noqa: E402
from planner import run_plan  # noqa: E402

# The paper's LlamaGen setting (ZipAR, ICML 2025; LlamaGen's sample_c2i.py defaults).
PAPER_CFG = 4.0
PAPER_SAMPLING = {"temperature": 1.0, "topK": 2000, "topP": 1.0}
CLASS_ID = 207  # golden retriever, the first of sample_c2i.py's labels


@dataclass
class Shape:
    name: str  # "GPT-L", "tiny-L"
    layers: int
    heads: int
    dim: int
    side: int  # grid H = W
    vocab: int = 16384

    def describe(self) -> str:
        return (f"{self.name}-shaped: {self.layers} layers, {self.heads} heads, dim {self.dim}, "
                f"{self.side}×{self.side} tokens, vocab {self.vocab}")


FULL = {"GPT-B": Shape("GPT-B", 12, 12, 768, 24), "GPT-L": Shape("GPT-L", 24, 16, 1024, 24),
        "GPT-XL": Shape("GPT-XL", 36, 20, 1280, 24)}
# --quick: tiny widths, an 8x8 grid (ZipAR s=4 is a real window there), a vocabulary larger
# than top-k 2000 so the paper's top-k is exercised.
QUICK = {"GPT-B": Shape("tiny-B", 1, 2, 32, 8, 4096), "GPT-L": Shape("tiny-L", 2, 4, 64, 8, 4096),
         "GPT-XL": Shape("tiny-XL", 3, 4, 64, 8, 4096)}
QUICK_SETTINGS = ["raster", "paper s=4", "ideal s=4"]


def config_of(shape: Shape) -> ModelConfig:
    return ModelConfig(dim=shape.dim, layers=shape.layers, heads=shape.heads,
                       hidden=preset_hidden(shape.dim), vocab=shape.vocab, num_classes=1000,
                       height=shape.side, width=shape.side,
                       preset=shape.name if shape.name in FULL else None)


@torch.no_grad()
def random_weights(cfg: ModelConfig, device: torch.device, dtype: torch.dtype,
                   seed: int = 0) -> Dict[str, torch.Tensor]:
    """LlamaGen's state dict (its official names) of random weights, each tensor made on
    `device` in `dtype`: matrices N(0, 1/fan_in), embeddings N(0, 1), norms 1, so logits
    spread by O(1) and greedy decoding has few near-ties (peer parity rows)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    weights = {}
    for key, shape in expected_shapes(cfg).items():
        t = torch.empty(shape, device=device, dtype=dtype)
        if key.endswith("norm.weight"):
            t.fill_(1)
        elif "embed" in key:
            t.normal_(0, 1, generator=gen)
        else:
            t.normal_(0, shape[1] ** -0.5, generator=gen)
        weights[key] = t
    return weights


@dataclass
class LlamaGenModel:
    """One random LlamaGen: its shape, config and weights (kept to build fresh family objects
    for cold rows and the official peer), and the family object the warm rows share."""
    shape: Shape
    cfg: ModelConfig
    weights: Dict[str, torch.Tensor]
    family: LlamaGen
    device: torch.device
    dtype: torch.dtype

    def fresh(self) -> LlamaGen:
        """A new family object over the same weights: new ModelSteps, nothing captured."""
        return LlamaGen(f"<random {self.shape.name}>", self.cfg,
                        LlamaGenGPT(self.cfg, self.weights, self.device, self.dtype))


def build_llamagen(shape: Shape, device: torch.device, dtype: torch.dtype) -> LlamaGenModel:
    cfg = config_of(shape)
    weights = random_weights(cfg, device, dtype)
    family = LlamaGen(f"<random {shape.name}>", cfg, LlamaGenGPT(cfg, weights, device, dtype))
    return LlamaGenModel(shape, cfg, weights, family, device, dtype)


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


# --- plans and planned generations ---------------------------------------------------------

ORDER = ["raster", "paper s=8", "ideal s=8", "paper s=4", "ideal s=4", "paper s=16",
         "ideal s=16"]  # the paper's headline window first, the budget drops from the end


def load_plans(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def plans_for(plans: dict, side: int, settings: Optional[List[str]] = None) -> List[dict]:
    """The grid's compiled plans in ORDER (or `settings`' order), those it has."""
    grid = {p["setting"]: p for p in plans["grids"][f"{side}x{side}"]}
    return [grid[s] for s in (settings or ORDER) if s in grid]


def plan_arrays(plan: dict) -> dict:
    return {k: np.asarray(plan[k], dtype=np.int32)
            for k in ("stepStart", "slot", "input", "predicts")}


def images_for(family, seed: int = 1) -> List[dict]:
    cond = CLASS_ID if family.info["conditioning"] == "class" else \
        {"prompt": "a red fox in the snow, photograph"}
    return [{"condition": cond, "seed": seed, "index": 0}]


def header(family, images: List[dict], cfg: float, sampling: dict) -> dict:
    return {"height": family.info["height"], "width": family.info["width"], "images": images,
            "cfgScale": cfg, "sampling": sampling, "progressEvery": 0}


def open_session(family, images: List[dict], cfg: float):
    return family.open(family.conditions_for(images, cfg))


def generate(family, session, plan: dict, images: List[dict], cfg: float,
             sampling: dict) -> np.ndarray:
    """One planned generation on an open session -> grids [B, H, W] (under inference_mode,
    as the worker's `plan` request runs it)."""
    with torch.inference_mode():
        return run_plan(family, session, header(family, images, cfg, sampling),
                        plan_arrays(plan), lambda done: None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def wall_ms(device: torch.device, fn: Callable[[], object]):
    """(ms, value) of one call, the device synchronised before and after."""
    sync(device)
    t0 = time.perf_counter()
    value = fn()
    sync(device)
    return (time.perf_counter() - t0) * 1000, value


def summary(times: List[float], fmt: str = "{:.1f}") -> str:
    """Median (min–max, n) of `times`, each number written with `fmt`."""
    if not times:
        return "–"
    if len(times) == 1:
        return fmt.format(times[0])
    low, mid, high = (fmt.format(v) for v in (min(times), statistics.median(times), max(times)))
    return f"{mid} ({low}–{high}, n={len(times)})"


# --- the cost model the budget asks ---------------------------------------------------------

@dataclass
class Costs:
    """ms per pass by (model, mode), learned from the rows already run; before that a guess
    per layer (a step's launch overhead grows with the layers, not the width)."""
    device: torch.device
    learned: Dict[tuple, float] = field(default_factory=dict)
    GUESS = {("cuda", "eager"): 0.45, ("cuda", "graphs"): 0.08, ("cuda", "cold"): 0.2,
             ("cuda", "hf"): 1.0, ("cpu", "eager"): 1.5, ("cpu", "graphs"): 1.5,
             ("cpu", "cold"): 1.5, ("cpu", "hf"): 3.0}

    def per_pass(self, model: str, layers: int, mode: str) -> float:
        got = self.learned.get((model, mode))
        if got is not None:
            return got
        return self.GUESS[(self.device.type, mode)] * layers + 1.0

    def learn(self, model: str, mode: str, ms_per_pass: float) -> None:
        self.learned[(model, mode)] = max(ms_per_pass, self.learned.get((model, mode), 0) * 0.5)

    def seconds(self, model: str, layers: int, mode: str, passes: int, runs: int,
                overhead_s: float = 0.0) -> float:
        return self.per_pass(model, layers, mode) * passes * runs / 1000 + overhead_s
