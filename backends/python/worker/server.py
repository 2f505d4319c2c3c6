"""The worker's one request loop: load what the hello names (a model and/or an image decoder),
then answer each request through one dispatch table (HANDLERS) until shutdown or end of input.

The table holds the product's requests only. The tests' oracles (a plain raster loop, the device
sampler on given logits, loading another checkpoint to inspect it) are answered by the worker in
its test mode, testing/python/oracle_worker.py, which serves the same loop with a larger table.
"""

import os
import sys
import time
import traceback
from typing import Callable, Dict, Optional

import numpy as np
import torch

import describe
import families
import step_graphs
import step_profile
from devices import pick_device, pick_dtype
from errors import OptionError, first_line, only_line
from families.family import FamilySession, LoadOptions
from planner import run_plan
from contract import IMAGE_SIZE_PX
from protocol import PROTOCOL_VERSION, log, read_frame, write_frame

EXPECTED = (ValueError,)  # CheckpointError, SafetensorsError, ProtocolError are ValueErrors
DEBUG = os.environ.get("ZIPAR_DEBUG") == "1"  # tracebacks on stderr; else one line, always


def failure_line(err: BaseException) -> str:
    """The one line an error frame carries: an expected error's message, else `Type: message`
    (the traceback only on stderr, and only with ZIPAR_DEBUG=1)."""
    if DEBUG:
        traceback.print_exc(file=sys.stderr)
    if isinstance(err, MemoryError):
        return "out of memory (MemoryError): use a smaller batch, grid or model"
    if isinstance(err, RecursionError):
        return "input nested too deeply (RecursionError)"
    return only_line(err) if isinstance(err, EXPECTED) else first_line(err)


class Worker:
    """What a worker holds: load options, at most one model, its sessions, its decoders."""

    def __init__(self, options: LoadOptions, family, reply: Callable):
        self.options = options
        self.family = family
        self.sessions: Dict[int, FamilySession] = {}
        self.decoders: Dict[int, object] = {}
        self.reply = reply  # reply(header, arrays=None) writes one frame

    def model(self):
        if self.family is None:
            raise ValueError("this worker was started without a model (the hello named only a "
                             "decoder); open a backend with a model")
        return self.family

    def session(self, header) -> FamilySession:
        session = self.sessions.get(header.get("session"))
        if session is None:
            raise ValueError(f"no open session {header.get('session')}")
        return session

    def decoder(self, header):
        decoder = self.decoders.get(header.get("decoder"))
        if decoder is None:
            raise ValueError(f"no open decoder {header.get('decoder')}")
        return decoder

    def load_decoder(self, id_, source) -> dict:
        decoder = families.load_decoder(source, self.family, self.options)
        self.decoders[id_] = decoder
        return {"id": id_, "kind": decoder.kind, "config": decoder.config,
                "scale": decoder.scale, "codebookSize": decoder.codebook_size}

    def free(self):
        if self.options.device.type == "cuda":
            torch.cuda.empty_cache()


def load_options(hello: dict) -> LoadOptions:
    device = pick_device(hello.get("device") or "cpu")
    dtype = pick_dtype(hello.get("dtype") or "float32")
    # threads: given = torch.set_num_threads(threads) (intra-op CPU threads, also used by the
    # host-side work of a CUDA worker); absent or null = torch's own choice, which honours
    # OMP_NUM_THREADS and is otherwise one thread per physical core.
    threads = hello.get("threads")
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1024:
            raise ValueError(f"threads must be an integer in 1..1024, got {threads!r}")
        torch.set_num_threads(threads)
    step_graphs.set_mode(hello.get("cudaGraphs"))
    return LoadOptions(device, dtype, hello.get("preset"), hello.get("grid"), hello.get("heads"),
                       hello.get("weights"), hello.get("numClasses"), image_size(hello),
                       vision_tokenizer(hello), directory(hello, "textEncoder"))


def error_frame(err: Exception) -> dict:
    """The `error` answer of a failure: one line, and `usage: true` for an option the model
    cannot take."""
    frame = {"type": "error", "message": failure_line(err)}
    if isinstance(err, OptionError):
        frame["usage"] = True
    return frame


def vision_tokenizer(hello: dict):
    """The hello's `visionTokenizer` (a directory) or None."""
    return directory(hello, "visionTokenizer")


def directory(hello: dict, key: str):
    """The hello's directory option `key` (visionTokenizer, textEncoder) or None."""
    value = hello.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise OptionError(f"{key} must be a directory, got {value!r}")
    return value


def image_size(hello: dict):
    """The hello's `size` (an image side in px) or None; `grid` and `size` exclude each other."""
    size = hello.get("size")
    if size is None:
        return None
    low, high = IMAGE_SIZE_PX
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
        raise OptionError(f"size must be an image side in px, {low}..{high}, got {size!r}")
    if hello.get("grid") is not None:
        raise OptionError("give the grid or the image size, not both")
    return size


def serve(hello: dict, stdin, stdout, handlers: Optional[Dict[str, Callable]] = None) -> int:
    """Answer the hello, then every request through `handlers` (default HANDLERS)."""
    handlers = HANDLERS if handlers is None else handlers

    def reply(header: dict, arrays=None):
        write_frame(stdout, header, arrays)
    try:
        options = load_options(hello)
        if not hello.get("model") and not hello.get("decoder") and not hello.get("describe"):
            raise ValueError("the hello names neither a model nor a decoder")
        family = families.load_family(str(hello["model"]), options) if hello.get("model") \
            else None
        worker = Worker(options, family, reply)
        decoder = worker.load_decoder(0, hello["decoder"]) if hello.get("decoder") else None
    except Exception as err:  # noqa: BLE001 - every failure of the hello is one line
        reply(error_frame(err))
        return 1
    reply({"type": "ready", "protocol": PROTOCOL_VERSION,
           "info": family.info if family else None, "config": family.config if family else None,
           "modelDecoder": family.decoder_status() if family else None, "decoder": decoder, "torch": torch.__version__, "device": str(options.device),
           "dtype": options.dtype_name, "threads": torch.get_num_threads(),
           "cudaGraphs": step_graphs.mode()})
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return 0
        header, arrays = frame
        kind = header.get("type")
        try:
            if kind == "shutdown":
                reply({"type": "bye"})
                return 0
            handler: Optional[Callable] = handlers.get(kind)
            if handler is None:
                log(f"unknown request {kind}")
                raise ValueError(f"unknown request type {kind}")
            handler(worker, header, arrays)
        except Exception as err:  # noqa: BLE001 - report in one line, keep serving
            reply(error_frame(err))


# --- generation -------------------------------------------------------------------------------

def open_session(worker: Worker, header, arrays):
    # PROTOCOL.md: one {condition, unconditional} per sequence.
    sequences = header.get("sequences")
    if not isinstance(sequences, list):
        raise OptionError("open needs sequences: a list of {condition, unconditional}")
    worker.sessions[header["session"]] = worker.model().open(sequences)
    worker.reply({"type": "opened"})


def close_session(worker: Worker, header, arrays):
    session = worker.sessions.pop(header["session"], None)
    if session is not None:
        session.close()
    worker.free()
    worker.reply({"type": "closed"})


@torch.inference_mode()
def step(worker: Worker, header, arrays):
    logits = worker.session(header).step(arrays["seq"], arrays["slot"], arrays["token"],
                                         arrays["want"].astype(bool))
    worker.reply({"type": "logits", "rows": int(logits.shape[0])},
                 {"logits": logits.astype(np.float32)})


@torch.inference_mode()
def plan(worker: Worker, header, arrays):
    session = worker.session(header)

    def progress(done: int):
        worker.reply({"type": "progress", "stepsDone": done})
    before = dict(step_graphs.STATS)
    run = lambda: run_plan(worker.model(), session, header, arrays, progress)  # noqa: E731
    extra = {}
    if header.get("profile"):  # bench --profile: ops and host reads per step (step_profile)
        seen = step_profile.profile(run)
        grids = seen.pop("result")
        extra["profile"] = seen
    else:
        grids = run()
    steps = {k: v - before[k] for k, v in step_graphs.STATS.items()}  # captured, built, ...
    worker.reply({"type": "grids", "shape": list(grids.shape), "graphSteps": steps, **extra},
                 {"grids": grids})


# --- the bench's reference row ----------------------------------------------------------------

def transformers_generate(worker: Worker, header, arrays):
    """transformers' own generation loop on the loaded model (the bench's reference row)."""
    family = worker.model()
    if not hasattr(family, "transformers_generate"):
        raise ValueError(f"the {family.info['family']} family has no transformers generation "
                         f"loop to compare with")
    start = time.perf_counter()
    grids = family.transformers_generate(header["images"], float(header["cfgScale"]),
                                      header["sampling"])
    wall_ms = (time.perf_counter() - start) * 1000
    worker.reply({"type": "grids", "shape": list(grids.shape), "wallMs": wall_ms},
                 {"grids": grids.astype(np.int32)})


def describe_model(worker: Worker, header, arrays):
    """What a model path holds, without loading it (describe.py)."""
    o = worker.options
    size = image_size(header)
    options = LoadOptions(o.device, o.dtype, header.get("preset"), header.get("grid"),
                          header.get("heads"), header.get("weights"), header.get("numClasses"),
                          size, vision_tokenizer(header), directory(header, "textEncoder"))
    worker.reply({"type": "described",
                  "description": describe.describe(str(header["model"]), options)})


# --- image decoders ---------------------------------------------------------------------------

def load_decoder(worker: Worker, header, arrays):
    ready = worker.load_decoder(header["decoder"], header.get("source"))
    worker.reply(dict(ready, type="decoder"))


def check_grid(decoder, header: dict, arrays) -> torch.Tensor:
    """The client checks first (checkVqTokens); this guards the worker against any client."""
    shape = header.get("shape")
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(d, int) and d >= 1 for d in shape)):
        raise ValueError(f"grid shape must be [B, H, W] of positive integers, got {shape}")
    tokens = arrays.get("tokens")
    if tokens is None or tokens.size != shape[0] * shape[1] * shape[2]:
        got = None if tokens is None else tokens.size
        raise ValueError(f"grid shape {shape} needs {shape[0] * shape[1] * shape[2]} tokens, "
                         f"got {got}")
    size = decoder.codebook_size
    bad = np.flatnonzero((tokens < 0) | (tokens >= size))
    if bad.size:
        raise ValueError(f"token {int(tokens[bad[0]])} at index {int(bad[0])} is outside the "
                         f"codebook (0..{size - 1})")
    return torch.from_numpy(tokens.astype(np.int64)).view(*shape)  # [B, H, W]


def decode(worker: Worker, header, arrays):
    decoder = worker.decoder(header)
    pixels = decoder.decode(check_grid(decoder, header, arrays))  # [B, H*s, W*s, 3] uint8
    worker.reply({"type": "pixels", "shape": list(pixels.shape)},
                 {"pixels": pixels.numpy().reshape(-1)})


def close_decoder(worker: Worker, header, arrays):
    worker.decoders.pop(header.get("decoder"), None)
    worker.free()
    worker.reply({"type": "closed"})


HANDLERS = {
    "open": open_session, "close": close_session, "step": step, "plan": plan,
    "transformers_generate": transformers_generate, "describe": describe_model,
    "load_decoder": load_decoder, "decode": decode, "close_decoder": close_decoder,
}
