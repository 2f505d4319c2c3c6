"""Peer rows: the official LlamaGen code (github.com/FoundationVision/LlamaGen, not shipped with
zipar; --llamagen-src DIR names a checkout) on the same weights as zipar's GPT-L rows.

DIR goes on sys.path and its own autoregressive/models/gpt.py (GPT_models, Transformer) and
generate.py (generate) are imported. The model is built on the device in the run's dtype and
given zipar's random weights with load_state_dict(assign=True) (its state-dict names are the
ones zipar's LlamaGen loader reads, so the tensors are shared, not copied). Rows:

- same weights: the first step (prefill) of both, conditional and unconditional class:
  max |difference| of the logits and whether their argmax agrees;
- official generate() eager, the paper's setting (CFG 4, top-k 2000, T 1, batch 1), its own
  torch.multinomial sampling;
- greedy parity: official generate() with top-k 1 vs zipar's raster greedy grid;
- official generate() with the model compiled as its sample_c2i.py --compile does
  (torch.compile(model, mode="reduce-overhead", fullgraph=True); --quick: backend "eager"):
  the first call (compile + capture) and the warm calls after.

On a torch without torch.backends.cuda.sdp_kernel (the official decode loop's context) a shim
over torch.nn.attention.sdpa_kernel stands in, and the row says so.
"""

import os
import sys
import time
import warnings

import numpy as np
import torch

import step_graphs
from llamagen_rows import graph_mode
from models import CLASS_ID, PAPER_CFG, PAPER_SAMPLING, LlamaGenModel, generate, images_for, \
    open_session, plans_for, summary, wall_ms
from report import attempt, ms

COLUMNS = ("loop", "setting", "passes", "ms/image: median (min–max, n)", "ms/pass",
           "vs official eager", "notes")


def import_official(src: str):
    """(gpt module, generate function, note) from a LlamaGen checkout."""
    root = os.path.abspath(src)
    if not os.path.isfile(os.path.join(root, "autoregressive", "models", "gpt.py")):
        raise FileNotFoundError(f"{root}: no autoregressive/models/gpt.py (a checkout of "
                                f"github.com/FoundationVision/LlamaGen)")
    note = ""
    if not hasattr(torch.backends.cuda, "sdp_kernel"):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
                       enable_cudnn=True):
            chosen = [b for b, on in ((SDPBackend.FLASH_ATTENTION, enable_flash),
                                      (SDPBackend.EFFICIENT_ATTENTION, enable_mem_efficient),
                                      (SDPBackend.MATH, enable_math)) if on]
            return sdpa_kernel(chosen)
        torch.backends.cuda.sdp_kernel = sdp_kernel
        note = "torch.backends.cuda.sdp_kernel shimmed (this torch has none)"
    if root not in sys.path:
        sys.path.insert(0, root)
    from autoregressive.models import gpt
    from autoregressive.models.generate import generate as official_generate
    return gpt, official_generate, note


def official_model(gpt, model: LlamaGenModel):
    """The official Transformer of the model's shape, built on its device in its dtype,
    holding zipar's weight tensors."""
    cfg, device, dtype = model.cfg, model.device, model.dtype
    args = dict(vocab_size=cfg.vocab, block_size=cfg.height * cfg.width,
                num_classes=cfg.num_classes, cls_token_num=1, model_type="c2i")
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            if model.shape.name in getattr(gpt, "GPT_models", {}):
                m = gpt.GPT_models[model.shape.name](**args)
            else:
                m = gpt.Transformer(gpt.ModelArgs(dim=cfg.dim, n_layer=cfg.layers,
                                                  n_head=cfg.heads, **args))
    finally:
        torch.set_default_dtype(saved)
    m.load_state_dict(model.weights, strict=True, assign=True)
    return m.eval()


def run_official(fn, m, device, side: int, top_k: int):
    cond = torch.tensor([CLASS_ID], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sdp_kernel's deprecation, per step
        return fn(m, cond, side * side, cfg_scale=PAPER_CFG, cfg_interval=-1,
                  temperature=PAPER_SAMPLING["temperature"], top_k=top_k,
                  top_p=PAPER_SAMPLING["topP"], sample_logits=True)


def peer_section(ctx, report, model: LlamaGenModel, src: str) -> None:
    device, side = ctx.device, model.cfg.width
    cells = side * side
    got = {}

    def setup():
        gpt, fn, note = import_official(src)
        got.update(gpt=gpt, fn=fn, m=official_model(gpt, model))
        params = sum(p.numel() for p in got["m"].parameters())
        report.item(f"official code from {os.path.abspath(src)}: {model.shape.name} "
                    f"{params / 1e6:.0f} M parameters, zipar's weight tensors"
                    + (f"; {note}" if note else ""))
    attempt(ctx.budget, "official LlamaGen import", 10, setup, report.item, ctx.debug)
    if "m" not in got:
        return
    report.line()
    table = report.table(*COLUMNS)
    m, fn = got["m"], got["fn"]
    base = {}

    def logits_row():
        with torch.inference_mode(), torch.device(device):
            m.setup_caches(max_batch_size=2, max_seq_length=cells + 1, dtype=model.dtype)
            cond = torch.tensor([CLASS_ID, model.cfg.num_classes])
            theirs, _ = m(None, cond, torch.arange(0, 1))
        theirs = theirs[:, -1].float()
        step_graphs.set_mode("off")
        session = model.family.open([CLASS_ID, model.cfg.num_classes])
        try:
            with torch.inference_mode():
                ours = torch.from_numpy(session.step(
                    np.arange(2), np.zeros(2, dtype=np.int64), np.full(2, -1, dtype=np.int64),
                    np.ones(2, dtype=bool))).to(device)
        finally:
            session.close()
        d = float((ours - theirs).abs().max())
        agree = int((ours.argmax(-1) == theirs.argmax(-1)).sum())
        table.add("same weights: prefill logits", "–", 1, "", "", "",
                  f"max |Δ| {d:.3g} (max |logit| {float(theirs.abs().max()):.3g}); "
                  f"argmax agrees {agree}/2")
    attempt(ctx.budget, "official prefill logits", 5, logits_row,
            lambda text: table.note(("same weights: prefill logits",), text), ctx.debug)

    reps = 1 if ctx.quick else 2
    eager_s = ctx.costs.seconds(model.shape.name, model.shape.layers, "eager", cells, 1 + reps)

    def eager_row():
        run_official(fn, m, device, side, PAPER_SAMPLING["topK"])  # warm-up
        times = [wall_ms(device, lambda: run_official(fn, m, device, side,
                                                       PAPER_SAMPLING["topK"]))[0]
                 for _ in range(reps)]
        base["ms"] = sorted(times)[len(times) // 2]
        table.add("official generate(), eager", "raster", cells, summary(times),
                  ms(base["ms"] / cells, 2), "1.00×", "its own multinomial sampling")
        for setting in ("raster", "paper s=8"):
            ours = ctx.results.get((model.shape.name, "graphs warm", setting))
            passes = next((p["passes"] for p in plans_for(ctx.plans, side, [setting])), None)
            if ours is not None and passes:
                table.add("zipar graphs warm (above)", setting, passes, f"{ours:.1f}",
                          ms(ours / passes, 2), f"{base['ms'] / ours:.2f}×", "keyed sampler")
    attempt(ctx.budget, "official generate eager", eager_s * 2 + 5, eager_row,
            lambda text: table.note(("official generate(), eager", "raster", cells), text),
            ctx.debug)

    def parity_row():
        theirs = run_official(fn, m, device, side, 1).cpu().numpy().reshape(-1)
        step_graphs.set_mode(graph_mode(device))
        fam = model.family
        images = images_for(fam)
        session = open_session(fam, images, PAPER_CFG)
        try:
            ours = generate(fam, session, plans_for(ctx.plans, side, ["raster"])[0], images,
                            PAPER_CFG, {"temperature": 0.0, "topK": 0, "topP": 1.0})
        finally:
            session.close()
        equal = ours.reshape(-1) == theirs
        first = None if equal.all() else int(np.argmin(equal))
        table.add("greedy parity (official top-k 1)", "raster", cells,
                  f"{int(equal.sum())}/{cells} tokens equal", "", "",
                  "identical grids" if first is None else f"first difference at cell {first}"
                  + ("" if model.dtype == torch.float32 else
                     f" (the official head's logits are {str(model.dtype)[6:]}, zipar's float32)"))
    attempt(ctx.budget, "official greedy parity", eager_s + 5, parity_row,
            lambda text: table.note(("greedy parity (official top-k 1)", "raster"), text),
            ctx.debug)

    def compiled_row():
        quick_cpu = ctx.quick or device.type != "cuda"
        kwargs = {"backend": "eager", "fullgraph": True} if quick_cpu else \
            {"mode": "reduce-overhead", "fullgraph": True}
        cm = torch.compile(m, **kwargs)
        t0 = time.perf_counter()
        run_official(fn, cm, device, side, PAPER_SAMPLING["topK"])
        ctx.sync()
        first = time.perf_counter() - t0
        times = [wall_ms(device, lambda: run_official(fn, cm, device, side,
                                                       PAPER_SAMPLING["topK"]))[0]
                 for _ in range(reps)]
        med = sorted(times)[len(times) // 2]
        vs = f"{base['ms'] / med:.2f}×" if base.get("ms") else "–"
        how = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        table.add("official generate(), compiled", "raster", cells, summary(times),
                  ms(med / cells, 2), vs, f"torch.compile({how}); first call {first:.1f} s")
    attempt(ctx.budget, "official generate compiled", 30 if ctx.quick else 200, compiled_row,
            lambda text: table.note(("official generate(), compiled", "raster", cells), text),
            ctx.debug)
    got.clear()
    del m
