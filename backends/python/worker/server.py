"""The worker's request loop: load the model, answer open / step / plan / close frames."""

import sys
import traceback

import numpy as np
import torch

from checkpoint import CheckpointError, first_line, load_checkpoint
from model import DTYPES, LlamaGenGPT
from planner import run_plan
from protocol import PROTOCOL_VERSION, ProtocolError, log, read_frame, write_frame
from raster import generate_raster
from safetensors_io import SafetensorsError
from sampler import sample
from session import Session

EXPECTED = (ValueError, CheckpointError, SafetensorsError, ProtocolError)


def pick_device(name: str):
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda, but this PyTorch sees no CUDA device "
                             f"(torch {torch.__version__}); use --device cpu")
        return torch.device("cuda")
    if name != "cpu":
        raise ValueError(f"device must be cpu or cuda, got {name}")
    return torch.device("cpu")


def load(hello: dict):
    device = pick_device(hello.get("device") or "cpu")
    dtype_name = hello.get("dtype") or "float32"
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype_name}")
    if device.type == "cpu":
        torch.set_num_threads(int(hello.get("threads") or 2))
    cfg, weights = load_checkpoint(hello["model"], hello.get("preset"), hello.get("heads"),
                                   hello.get("grid"))
    probe = torch.ones(2, 2, dtype=DTYPES[dtype_name], device=device)
    try:
        torch.nn.functional.linear(probe, probe)
    except RuntimeError:
        raise ValueError(f"this PyTorch ({torch.__version__}) cannot run {dtype_name} matmuls "
                         f"on {device.type}; use --dtype float32 or bfloat16") from None
    model = LlamaGenGPT(cfg, weights, device, DTYPES[dtype_name])
    info = {"name": cfg.preset or "llamagen", "family": "llamagen", "vocab": cfg.vocab,
            "height": cfg.height, "width": cfg.width, "prefix": cfg.prefix, "eolToken": None,
            "numClasses": cfg.num_classes}
    return model, info, dtype_name


def serve(hello: dict, stdin, stdout) -> int:
    try:
        model, info, dtype_name = load(hello)
    except EXPECTED as err:
        write_frame(stdout, {"type": "error", "message": str(err)})
        return 1
    write_frame(stdout, {"type": "ready", "protocol": PROTOCOL_VERSION, "info": info,
                         "config": model.cfg.to_json(), "torch": torch.__version__,
                         "device": str(model.device), "dtype": dtype_name})
    sessions = {}
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return 0
        header, arrays = frame
        kind = header.get("type")
        try:
            if kind == "shutdown":
                write_frame(stdout, {"type": "bye"})
                return 0
            handle(kind, header, arrays, model, sessions, stdout)
        except EXPECTED as err:
            write_frame(stdout, {"type": "error", "message": str(err)})
        except Exception as err:  # noqa: BLE001 - report, keep serving
            traceback.print_exc(file=sys.stderr)
            write_frame(stdout, {"type": "error", "message": first_line(err)})


def handle(kind, header, arrays, model, sessions, stdout):
    if kind == "open":
        sessions[header["session"]] = Session(model, header["conditions"])
        write_frame(stdout, {"type": "opened"})
    elif kind == "close":
        sessions.pop(header["session"], None)
        if model.device.type == "cuda":
            torch.cuda.empty_cache()
        write_frame(stdout, {"type": "closed"})
    elif kind == "step":
        session = get_session(sessions, header)
        logits = session.step(arrays["seq"], arrays["slot"], arrays["token"],
                              arrays["want"].astype(bool))
        write_frame(stdout, {"type": "logits", "rows": int(logits.shape[0])},
                    {"logits": logits.astype(np.float32)})
    elif kind == "plan":
        session = get_session(sessions, header)

        def progress(done: int):
            write_frame(stdout, {"type": "progress", "stepsDone": done})
        grids = run_plan(session, header, arrays, progress)
        write_frame(stdout, {"type": "grids", "shape": list(grids.shape)}, {"grids": grids})
    elif kind == "inspect":
        cfg, weights = load_checkpoint(header["model"], header.get("preset"), header.get("heads"),
                                       header.get("grid"))
        checksum = float(sum(t.double().abs().sum().item() for t in weights.values()))
        write_frame(stdout, {"type": "inspected", "config": cfg.to_json(), "checksum": checksum})
    elif kind == "sample":
        tokens = sample_rows(model.device, header, arrays)
        write_frame(stdout, {"type": "tokens"}, {"tokens": tokens})
    elif kind == "raster":
        grids = generate_raster(model, header)
        write_frame(stdout, {"type": "grids", "shape": list(grids.shape)}, {"grids": grids})
    else:
        log(f"unknown request {kind}")
        write_frame(stdout, {"type": "error", "message": f"unknown request type {kind}"})


def sample_rows(device, header, arrays) -> np.ndarray:
    """Device sampling of given logits (tests): logits [rows, vocab], keys [rows] (u32 bits)."""
    vocab = int(header["vocab"])
    logits = torch.as_tensor(arrays["logits"].copy()).to(device).view(-1, vocab)
    keys = torch.as_tensor(arrays["keys"].astype(np.int64) & 0xFFFFFFFF).to(device)
    s = header["sampling"]
    tokens = sample(logits, keys, float(s["temperature"]), int(s["topK"]), float(s["topP"]))
    return tokens.cpu().numpy().astype(np.int32)


def get_session(sessions, header) -> Session:
    session = sessions.get(header.get("session"))
    if session is None:
        raise ValueError(f"no open session {header.get('session')}")
    return session
