"""A Janus-Pro-1B-shaped model, zipar (raster and ZipAR, planned) vs transformers' own Janus
image loop on the same weights.

The model is built directly on the device in its dtype (no float32 CPU copy, no files): a
JanusConfig with Janus-Pro-1B's language model (24 layers, hidden 2048, 16 heads, MLP 5632, text
vocabulary 102400) and generation heads (image vocabulary 16384, 24×24 grid), the understanding
tower and the VQ decoder kept minimal (neither runs here), its parameters drawn in place from a
seeded device generator as testing/python/tiny_models/random_weights.py spreads them. zipar's Janus
family object wraps it without from_pretrained; its prompts go through the tiny byte-level tokenizer
and Janus chat template of testing/python/tiny_models/janus.py (written to a temporary directory, as
prompt_rules reads them). --quick builds its "test" preset the same way.

Rows: zipar planned with graphs (warm) and eager, transformers' generate(generation_mode=
"image") with the same CFG and sampling, and greedy parity (zipar's raster greedy grid vs
transformers' greedy grid, tokens equal; bf16 kernels may flip near-ties).
"""

import contextlib
import tempfile
import time
from typing import Optional

import numpy as np
import torch

import step_graphs
from families.family import LoadOptions
from families.janus.transformers_loop import fit_static_cache
from llamagen_rows import graph_mode, stats_delta
from models import free_memory, generate, images_for, open_session, plans_for, summary, \
    wall_ms
from report import attempt, ms

JANUS_CFG = 5.0  # transformers' Janus default guidance
SAMPLING = {"temperature": 1.0, "topK": 2000, "topP": 1.0}
GREEDY = {"temperature": 0.0, "topK": 0, "topP": 1.0}
COLUMNS = ("loop", "setting", "passes", "ms/image: median (min–max, n)", "ms/pass",
           "speedup vs transformers", "notes (graph steps captured/replayed/eager)")
TEXT_VOCAB_1B = 102400


def pro_1b_preset():
    from tiny_models import janus as tiny
    return tiny.Preset(side=24, codebook=16384, hidden=2048, layers=24, heads=16, kv_heads=16,
                       intermediate=5632, context=16384)


@torch.no_grad()
def randomize(model, device: torch.device, seed: int = 0) -> None:
    """tiny_models.random_weights.randomize's spreads, drawn in place on the device: matrices
    N(0, 1/fan_in) (attention q, k: 3x), embeddings N(0, 1), norm weights 1 + N(0, 0.1), biases
    N(0, 0.1)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if p.dim() == 1:
            p.normal_(0, 0.1, generator=gen)
            if "norm" in name and name.endswith("weight"):
                p.add_(1)
        elif "embed" in name and p.dim() == 2:
            p.normal_(0, 1, generator=gen)
        else:
            fan_in = int(np.prod(p.shape[1:]))
            sharp = 3.0 if name.endswith(("q_proj.weight", "k_proj.weight")) else 1.0
            p.normal_(0, sharp / fan_in ** 0.5, generator=gen)


def _no_init():
    """transformers' no_init_weights (5.x: transformers.initialization), else nothing."""
    for where in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            module = __import__(where, fromlist=["no_init_weights"])
            return module.no_init_weights()
        except (ImportError, AttributeError):
            continue
    return contextlib.nullcontext()


def construct(config, device: torch.device, dtype: torch.dtype):
    """JanusForConditionalGeneration(config) with every tensor made on `device` in `dtype`."""
    from transformers import JanusForConditionalGeneration
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device), _no_init():
            model = JanusForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(saved)
    return model.eval()


def build_janus(preset, text_vocab: Optional[int], device: torch.device, dtype: torch.dtype,
                work: str):
    """zipar's Janus family object over a model built in place (module doc)."""
    from transformers import GenerationConfig
    from families.janus import Janus
    from tiny_models import janus as tiny
    from families.janus.prompts import prompt_rules
    tokenizer = tiny.make_tokenizer()
    config, ids = tiny.make_config(preset, tokenizer)
    if text_vocab:
        config.text_config.vocab_size = text_vocab
    tokenizer.save_pretrained(work)
    tiny.write_processor_files(work, preset)
    model = construct(config, device, dtype)
    randomize(model, device)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"],
        pad_token_id=ids["pad_token"], guidance_scale=JANUS_CFG, temperature=1.0,
        generation_kwargs={"boi_token_id": ids["boi_token"]})
    note = fit_static_cache(model)
    side = preset.side
    rules = prompt_rules(work, model.generation_config, preset.context, side * side)
    return Janus(work, model, rules, "transformers", LoadOptions(device, dtype)), note


def janus_section(ctx, report) -> None:
    from tiny_models import janus as tiny
    quick = ctx.quick
    preset = tiny.PRESETS["test"] if quick else pro_1b_preset()
    layers = preset.layers
    shape = "tiny (testing/python/tiny_models/janus.py test preset)" if quick else "Janus-Pro-1B"
    report.line(f"{shape}"
                f"-shaped: {layers} layers, hidden {preset.hidden}, {preset.heads} heads, "
                f"MLP {preset.intermediate}, image vocabulary {preset.codebook}, "
                f"{preset.side}×{preset.side} tokens; random weights; CFG {JANUS_CFG:g}, "
                f"T {SAMPLING['temperature']:g}, top-k {SAMPLING['topK']}, batch 1; "
                f"speedup = the transformers row's ms / the row's.")
    report.line()
    fam_box = {}
    with tempfile.TemporaryDirectory(prefix="zipar-gpu-check-janus-") as work:
        def build():
            t0 = time.perf_counter()
            fam, note = build_janus(preset, None if quick else TEXT_VOCAB_1B, ctx.device,
                                    ctx.dtype, work)
            ctx.sync()
            fam_box["fam"] = fam
            params = sum(p.numel() for p in fam.model.parameters())
            mem = (f", {torch.cuda.memory_allocated(ctx.device) / 2**30:.1f} GiB allocated"
                   if ctx.device.type == "cuda" else "")
            report.item(f"built in {time.perf_counter() - t0:.1f} s on {ctx.device.type} in "
                        f"{str(ctx.dtype)[6:]}: {params / 1e6:.1f} M parameters{mem}"
                        + (f"; {note}" if note else ""))
        attempt(ctx.budget, "Janus build", 5 if quick else 40, build,
                lambda text: report.item(text), ctx.debug)
        fam = fam_box.get("fam")
        if fam is None:
            return
        report.line()
        table = report.table(*COLUMNS)
        try:
            janus_rows(ctx, fam, table, layers)
        finally:
            fam_box.clear()
            del fam
            free_memory(ctx.device)


def janus_rows(ctx, fam, table, layers: int) -> None:
    side = fam.info["width"]
    plans = plans_for(ctx.plans, side)[:3]  # raster, paper s=8, ideal s=8 (4x4: s=4)
    images = images_for(fam)
    name = "Janus"
    peer = {}

    def est(kind: str, passes: int, runs: int) -> float:
        return ctx.costs.seconds(name, layers, kind, passes, runs, 1.0)

    def transformers_row():
        t, grid = wall_ms(ctx.device, lambda: fam.transformers_generate(images, JANUS_CFG,
                                                                         SAMPLING))
        peer["ms"] = t
        cells = side * side
        ctx.costs.learn(name, "hf", t / cells)
        table.add("transformers generate", "raster", cells, summary([t]), ms(t / cells, 2),
                  "1.00×", "generate(generation_mode=\"image\")")
    attempt(ctx.budget, "Janus transformers generate", est("hf", side * side, 1),
            transformers_row, lambda text: table.note(("transformers generate", "raster"), text),
            ctx.debug)

    for mode, graphs in (("graphs warm", True), ("eager", False)):
        step_graphs.set_mode(graph_mode(ctx.device) if graphs else "off")
        session = open_session(fam, images, JANUS_CFG)
        try:
            for plan in plans if graphs else plans[:2]:
                def row(plan=plan):
                    before = dict(step_graphs.STATS)
                    generate(fam, session, plan, images, JANUS_CFG, SAMPLING)  # capture/warm
                    reps = 1 if ctx.quick else 2
                    times = [wall_ms(ctx.device, lambda: generate(
                        fam, session, plan, images, JANUS_CFG, SAMPLING))[0]
                        for _ in range(reps)]
                    med = sorted(times)[len(times) // 2]
                    ctx.costs.learn(name, "graphs" if graphs else "eager", med / plan["passes"])
                    ctx.results[("Janus", mode, plan["setting"])] = med
                    speed = f"{peer['ms'] / med:.2f}×" if peer.get("ms") else "–"
                    failed = step_graphs.failure() if graphs else None
                    table.add(f"zipar {mode}", plan["setting"], plan["passes"],
                              summary(times) + (f"; capture failed: {failed}" if failed else ""),
                              ms(med / plan["passes"], 2), speed, stats_delta(before))
                attempt(ctx.budget, f"Janus zipar {mode} {plan['setting']}",
                        est("graphs" if graphs else "eager", plan["passes"],
                            2 if ctx.quick else 3),
                        row, lambda text, p=plan: table.note((f"zipar {mode}", p["setting"],
                                                              p["passes"]), text), ctx.debug)
        finally:
            session.close()

    def parity_row():
        step_graphs.set_mode(graph_mode(ctx.device))
        session = open_session(fam, images, JANUS_CFG)
        try:
            ours = generate(fam, session, plans[0], images, JANUS_CFG, GREEDY)
        finally:
            session.close()
        theirs = np.asarray(fam.transformers_generate(images, JANUS_CFG, GREEDY))
        equal = ours.reshape(-1) == theirs.reshape(-1)
        first = int(np.argmin(equal)) if not equal.all() else None
        parted = "" if ctx.dtype == torch.float32 else \
            f"; in {str(ctx.dtype)[6:]} a near-tie rounded the other way parts the grids there"
        table.add("greedy parity", "raster", side * side,
                  f"{int(equal.sum())}/{equal.size} tokens equal",
                  "", "", "identical grids" if first is None else
                  f"first difference at cell {first} (row {first // side}, col {first % side})"
                  + parted)
    attempt(ctx.budget, "Janus greedy parity", est("hf", side * side, 1) +
            est("graphs", side * side, 1), parity_row,
            lambda text: table.note(("greedy parity", "raster"), text), ctx.debug)
    step_graphs.set_mode(graph_mode(ctx.device))

