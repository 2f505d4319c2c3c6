"""zipar against the loops its users run instead, on the CPU (the numbers README's measured table
gives until a GPU run replaces them): interleaved rounds, medians with ranges, one torch thread.

- LlamaGen: a GPT-B-shaped random model (12 layers, dim 768, vocab 16384) on a 16×16 grid at the
  paper's sampling (CFG 4, top-k 2000, T 1, batch 1): the official LlamaGen generate() (from a
  checkout named by --llamagen-src, never shipped with zipar) on the same weights, zipar's
  planned raster loop, and ZipAR s = 8 (paper).
- Janus: the tiny Janus "mid" model (testing/python/tiny_models/janus.py: 8 layers, width 512,
  codebook 16384, 24×24) at CFG 5, T 1: transformers' own image loop and zipar's raster and
  ZipAR s = 8 (paper).

    OMP_NUM_THREADS=1 python tools/gpu_check/cpu_peers.py --llamagen-src DIR --janus DIR
        [--rounds 3] [--out report.md]

The first round of every row is a warm-up and is not counted.
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "backends", "python", "worker"))

import torch  # noqa: E402

import models  # noqa: E402
from official_llamagen import import_official, official_model, run_official  # noqa: E402

GPT_B_16 = models.Shape("GPT-B", 12, 12, 768, 16)


def interleave(rows, rounds: int):
    """rows: [(name, passes, fn)] -> {name: [ms of each counted round]}, rows taking turns."""
    times = {name: [] for name, _, _ in rows}
    for r in range(rounds + 1):
        for name, _, fn in rows:
            ms, _ = models.wall_ms(torch.device("cpu"), fn)
            if r:
                times[name].append(ms)
            print(f"round {r} {name}: {ms:,.0f} ms", file=sys.stderr, flush=True)
    return times


def table(title, rows, times, base: str):
    lines = [f"### {title}", "", "| loop | passes | ms/image: median (min–max, n) | vs "
             f"{base} |", "| --- | ---: | ---: | ---: |"]
    ref = statistics.median(times[base])
    for name, passes, _ in rows:
        lines.append(f"| {name} | {passes} | {models.summary(times[name], '{:,.0f}')} | "
                     f"{ref / statistics.median(times[name]):.2f}× |")
    return lines + [""]


def zipar_rows(family, plans, images, cfg, sampling):
    rows = []
    for plan in plans:
        def run(plan=plan):
            session = models.open_session(family, images, cfg)
            try:
                return models.generate(family, session, plan, images, cfg, sampling)
            finally:
                session.close()
        rows.append((f"zipar {plan['setting']}", plan["passes"], run))
    return rows


def llamagen(src: str, rounds: int):
    model = models.build_llamagen(GPT_B_16, torch.device("cpu"), torch.float32)
    gpt, official_generate, _ = import_official(src)
    official = official_model(gpt, model)
    plans = models.plans_for(models.load_plans(os.path.join(HERE, "plans.json")), 16,
                             ["raster", "paper s=8"])
    images = models.images_for(model.family)
    sampling = dict(models.PAPER_SAMPLING)

    def peer():
        with torch.inference_mode():
            return run_official(official_generate, official, torch.device("cpu"), 16, 2000)
    rows = [("official LlamaGen generate()", 256, peer)]
    rows += zipar_rows(model.family, plans, images, models.PAPER_CFG, sampling)
    times = interleave(rows, rounds)
    return table(f"{GPT_B_16.describe()}; CFG 4, top-k 2000, T 1, batch 1", rows, times,
                 rows[0][0])


def janus(path: str, rounds: int):
    from families import load_family
    from families.family import LoadOptions
    family = load_family(path, LoadOptions(device=torch.device("cpu"), dtype=torch.float32))
    side = family.info["height"]
    plans = models.plans_for(models.load_plans(os.path.join(HERE, "plans.json")), side,
                             ["raster", "paper s=8"])
    images = [{"condition": {"prompt": "a red fox in the snow, photograph"}, "seed": 1,
               "index": 0}]
    sampling = {"temperature": 1.0, "topK": 0, "topP": 1.0}

    def peer():
        with torch.inference_mode():
            return family.transformers_generate(images, 5.0, sampling)
    rows = [("transformers' Janus generate()", side * side, peer)]
    rows += zipar_rows(family, plans, images, 5.0, sampling)
    times = interleave(rows, rounds)
    return table("Janus tiny 'mid' (testing/python/tiny_models/janus.py --preset mid): 8 layers, "
                 f"width 512, codebook 16384, {side}×{side}; CFG 5, T 1, batch 1", rows, times,
                 rows[0][0])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llamagen-src", metavar="DIR")
    p.add_argument("--janus", metavar="DIR",
                   help="a testing/python/tiny_models/janus.py --preset mid dir")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out")
    args = p.parse_args(argv)
    lines = [f"## zipar vs the peer loops on the CPU ({torch.get_num_threads()} torch thread(s), "
             f"torch {torch.__version__})", ""]
    if args.llamagen_src:
        lines += llamagen(args.llamagen_src, args.rounds)
    if args.janus:
        lines += janus(args.janus, args.rounds)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
