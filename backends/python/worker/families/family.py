"""The interface every model family implements, and the pieces they share.

A family module (families/<name>/) exports:

    load(path, options: LoadOptions) -> Family            the model, from a file or directory
    load_decoder(path, device, dtype) -> Decoder          a standalone image decoder (--vq)
    inspect(path, options) -> (config: dict, checksum)    validate without keeping (tests)
    accepts(path, config: dict | None) -> bool            whether path is this family's

Family:   info (core/step.ts ModelInfo), config (JSON for `ready`), device, dtype;
          conditions_for(images, cfg_scale) -> the sequences of a generation;
          open(conditions) -> FamilySession; decoder(options) -> the model's own Decoder;
          decoder_status() -> whether the model has a decoder, where it runs, or why not
          (`ready.modelDecoder`: decoder_found() / decoder_absent(); found without loading).
FamilySession (below): the KV cache of one generation and the step forward.
Decoder:  kind, config (JSON), scale, codebook_size, decode(tokens [B, H, W]) -> uint8 RGB
          [B, H*scale, W*scale, 3] on the CPU.

load_decoder is only for families with a standalone decoder (LlamaGen's VQ-16). A prompt family
(Janus, Emu3, Lumina-mGPT) keeps the engine's one prefix slot as a condition block: its session
builds the SlotKVCache with offset[seq] = prompt length - 1, writes the prompt at positions
0..L-1 when it sees the prefix query (cache.index(..., pos=...)), rotates by the absolute
positions ix.pos (1-D RoPE), and lets cache.attend mask what is unwritten (kv_cache.py).
"""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from errors import CheckpointError, OptionError
from device_pack import pack
from kv_cache import SlotKVCache
from step_graphs import ModelSteps


# The interface, as the worker checks it: what a family module exports, what its loaded family
# object has (the planner, the server and the bench read these), and the ModelInfo keys of its
# `info` (core/step.ts). families.module() checks a module when it is imported, load_family()
# the object a load returns; a family that lacks one is refused in one line naming it.
MODULE_EXPORTS = ("accepts", "load", "load_decoder", "inspect")
FAMILY_MEMBERS = ("info", "config", "device", "dtype", "steps", "conditions_for", "open",
                  "decoder", "decoder_status")
INFO_KEYS = ("name", "family", "vocab", "height", "width", "prefix", "eolToken", "numClasses",
             "conditioning")


def check_module(module) -> None:
    """A family module exports MODULE_EXPORTS, each callable."""
    missing = [n for n in MODULE_EXPORTS if not callable(getattr(module, n, None))]
    if missing:
        raise TypeError(f"{module.__name__} is no model family: it lacks {', '.join(missing)} "
                        f"(families/family.py)")


def check_family(family, name: str):
    """A loaded family has FAMILY_MEMBERS and an `info` of INFO_KEYS; returns it."""
    missing = [n for n in FAMILY_MEMBERS if not hasattr(family, n)]
    info = getattr(family, "info", None)
    if isinstance(info, dict):
        missing += [f"info.{k}" for k in INFO_KEYS if k not in info]
    if missing:
        raise TypeError(f"the {name} family's model lacks {', '.join(missing)} "
                        f"(families/family.py)")
    return family


def decoder_found(name: str, where: str = "worker") -> dict:
    """A decoder_status(): the model's decoder `name` runs in the worker (or on the host: the
    demo's patch codebook, decoded in TypeScript)."""
    return {"available": True, "where": where, "name": name}


def decoder_absent(why: str) -> dict:
    """A decoder_status(): the model has no decoder; `why` names what is missing and the fix."""
    return {"available": False, "why": why}


def require_decoder(status: dict) -> None:
    """Raise the status' one line unless the decoder is found in the worker."""
    if not status["available"]:
        raise CheckpointError(status["why"])
    if status["where"] != "worker":
        raise CheckpointError(f"the model's {status['name']} decoder runs on the host, not in "
                              f"the worker")


@dataclass
class LoadOptions:
    device: torch.device
    dtype: torch.dtype
    preset: Optional[str] = None  # LlamaGen .pt: preset name (GPT-B …), inferred when None
    grid: Optional[str] = None  # LlamaGen .pt: grid such as "16x16", else from the file name
    heads: Optional[int] = None  # LlamaGen .pt of no preset: attention heads
    weights: Optional[str] = None  # LlamaGen training .pt: "model" (default) or "ema"
    num_classes: Optional[int] = None  # LlamaGen .pt: classes, else its args or table rows - 1
    size: Optional[int] = None  # image side in px, for a model that makes several (Lumina …)
    vision_tokenizer: Optional[str] = None  # Emu3-Gen official: BAAI/Emu3-VisionTokenizer dir
    text_encoder: Optional[str] = None  # LlamaGen t2i: its FLAN-T5 directory

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace("torch.", "")

    def refuse_size(self, path: str, fixed: str):
        """One line for a --grid / --size given to a model whose grid is fixed (`fixed` says
        which: "Janus-Pro's 24x24 (384 px)")."""
        flag = "--grid" if self.grid is not None else "--size" if self.size is not None else None
        if flag:
            raise OptionError(f"{path}: this model makes one image size, {fixed}; drop {flag}")


class FamilySession:
    """One generation: its sequences' conditions, the KV cache it borrows from its model
    (step_graphs.ModelSteps) and the step forward.

    A family subclasses it with check_queries() and index() (the host layout of a step, with
    whatever per-query data its forward reads); the model's ModelSteps holds the forward
    itself, so a graph captured for one generation serves the next. The interactive step,
    the planned forward, the reset and the close are shared.
    """

    def __init__(self, conditions: List, cache: SlotKVCache, num_slots: int,
                 steps: ModelSteps):
        self.conditions = conditions
        self.cache = cache
        self.num_slots = num_slots  # engine slots per sequence (core/layout)
        self.steps = steps

    @property
    def num_seqs(self) -> int:
        return len(self.conditions)

    @property
    def device(self) -> torch.device:
        return self.cache.device

    def index(self, seq: np.ndarray, slot: np.ndarray, want: np.ndarray):
        """A step's host index (numpy arrays; device_pack.pack moves it)."""
        return self.cache.index(seq, slot, want)

    def reset(self):
        """Forget every write (a plan starts from an empty cache)."""
        self.cache.reset()

    def close(self):
        """Give the cache back to the model (kept for the next generation only while CUDA
        graphs are captured over it)."""
        if self.cache is not None:
            self.steps.release(self.cache)
            self.cache = None

    def check_queries(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray):
        """Raise a one-line ValueError for a query the family cannot run."""
        raise NotImplementedError

    def forward(self, seq: np.ndarray, slot: np.ndarray, token: torch.Tensor,
                want: np.ndarray, index=None) -> torch.Tensor:
        """seq, slot: [n] host ints; token: [n] device int64 -> logits [sum(want), vocab]
        float32 on the device, in query order. A planned step passes its packed index (built
        ahead) and may replay a CUDA graph; interactive steps and the raster oracle build
        theirs here and run eagerly. The forward reads only tensors, never the host arrays,
        so a graph captured for one step serves every step of its shape."""
        if index is None:
            ix = pack([self.index(seq, slot, want)], self.device)[0]
            return self.steps.body(self.cache, token, ix)
        return self.steps.run(self.cache, token, index)

    @torch.no_grad()
    def step(self, seq: np.ndarray, slot: np.ndarray, token: np.ndarray,
             want: np.ndarray) -> np.ndarray:
        """Interactive step -> logits: [sum(want), vocab] float32 on the host, query order."""
        n = len(seq)
        if n == 0:
            raise ValueError("a step needs at least one query")
        if seq.min() < 0 or seq.max() >= self.num_seqs:
            raise ValueError(f"query sequence outside 0..{self.num_seqs - 1}")
        if slot.min() < 0 or slot.max() >= self.num_slots:
            raise ValueError(f"query slot outside 0..{self.num_slots - 1}")
        if len(np.unique(seq.astype(np.int64) * self.num_slots + slot)) != n:
            raise ValueError("a step writes the same slot of a sequence twice")
        self.check_queries(seq, slot, token)
        tok = torch.as_tensor(token.astype(np.int64)).to(self.device)
        return self.forward(seq, slot, tok, want.astype(bool)).cpu().numpy()
