"""The worker's keyed sampler (worker/sampler.py) on the shared golden table of docs/sampling.md
(testing/golden/sampling.json): what it derives and draws, for backends/python/sampler_test.ts
to compare with the table case by case, and its own list of what differs from the table (for a
run on a CUDA machine, where no Deno runs the test).

Every case runs three ways: alone (`sample`, the interactive and CPU planned path), alone with
sync_free=True (the path of a planned loop on CUDA: every column scored, the kept set masked),
and batched with the other cases of the same vocabulary and settings (one row's token must not
depend on its neighbours). CFG cases mix as the planned loop does (mix_cfg with a float32 scale
tensor). The key and draw vectors go through cell_key, the int32 hash, the uniform and both
Gumbel paths (computed directly, and gathered from the 2^23-entry table CUDA uses); the whole
table's SHA-256 (little-endian float32) lets the test compare all 2^23 Gumbel values with
TypeScript's.

Usage (worker/ and testing/python/ on PYTHONPATH):
    python -m sampler_golden_check TABLE.json [--device cuda]
   -> one JSON line on stdout:
{"device": str, "keys": [u32], "draws": [{"bits", "uniform", "gumbel", "gumbelTable"}],
 "gumbelSha256": hex, "cases": {"key": [u32], "alone": [token], "syncFree": [token],
 "batched": [token], "kept": [[token] | null]}, "mismatches": [str]}
"""

import hashlib
import json
import sys

import torch

from sampler import (GOLDEN, M32, cell_key, fmix32_, gumbel_of_index, gumbel_table, kept_mask,
                     mix_cfg, sample, to_i32, uniform_index)

PATHS = ("alone", "syncFree", "batched")


def derive(case: dict, device: torch.device):
    """The case's mixed logits [1, vocab] float32 and its key [1] int64 (u32 bits)."""
    mixed = torch.tensor([case["logits"]], dtype=torch.float32, device=device)
    scale = case.get("cfg", 1)
    if "uncond" in case and scale != 1:
        uncond = torch.tensor([case["uncond"]], dtype=torch.float32, device=device)
        mixed = mix_cfg(mixed, uncond, torch.tensor(scale, dtype=torch.float32, device=device))
    key = cell_key(case["seed"], case["index"], case["row"], case["col"])
    return mixed, torch.tensor([key], dtype=torch.int64, device=device)


def draw(mixed: torch.Tensor, keys: torch.Tensor, case: dict, sync_free: bool) -> torch.Tensor:
    return sample(mixed, keys, float(case["temperature"]), int(case["topK"]),
                  float(case["topP"]), sync_free=sync_free)


def batched(cases: list, device: torch.device) -> list:
    """Each case's token drawn in one batch with the cases of equal vocabulary and settings."""
    groups = {}
    for i, c in enumerate(cases):
        settings = (len(c["logits"]), c["temperature"], c["topK"], c["topP"])
        groups.setdefault(settings, []).append(i)
    tokens = [None] * len(cases)
    for members in groups.values():
        rows = [derive(cases[i], device) for i in members]
        mixed = torch.cat([m for m, _ in rows])  # [n, vocab]
        keys = torch.cat([k for _, k in rows])  # [n]
        got = draw(mixed, keys, cases[members[0]], False)
        for i, token in zip(members, got.tolist()):
            tokens[i] = token
    return tokens


def kept(mixed: torch.Tensor, case: dict):
    """The tokens top-k and top-p keep (ascending), or None at temperature 0."""
    if case["temperature"] == 0:
        return None
    z = mixed.double() / float(case["temperature"])
    mask = kept_mask(mixed, z, int(case["topK"]), float(case["topP"]))
    return torch.nonzero(mask[0]).flatten().tolist()


def draw_vector(d: dict, device: torch.device) -> dict:
    keys = to_i32(torch.tensor([d["key"]], dtype=torch.int64))
    terms = to_i32(torch.tensor([d["v"] * GOLDEN], dtype=torch.int64))
    h = keys[:, None] + terms
    fmix32_(h)
    index = uniform_index(keys, terms)  # [1, 1] int64: bits >> 9
    return {
        "bits": int(h.item()) & M32,
        "uniform": (2 * int(index.item()) + 1) / 16777216,
        "gumbel": float(gumbel_of_index(index).item()),
        "gumbelTable": float(gumbel_table(device)[index.to(device)].item()),
    }


def mismatches(table: dict, out: dict) -> list:
    """Every way `out` (what check() gave) differs from the table, one line each."""
    found = []
    for k, got in zip(table["keys"], out["keys"]):
        if got != k["key"]:
            found.append(f"cell_key{(k['seed'], k['index'], k['row'], k['col'])}: {got}")
    for d, got in zip(table["draws"], out["draws"]):
        want = {"bits": d["bits"], "uniform": d["uniform"], "gumbel": d["gumbel"],
                "gumbelTable": d["gumbel"]}
        for name, value in want.items():
            if got[name] != value:
                found.append(f"key {d['key']}, v {d['v']}: {name} {got[name]}, table {value}")
    cases = out["cases"]
    for i, c in enumerate(table["cases"]):
        if cases["key"][i] != c["key"]:
            found.append(f"{c['name']}: key {cases['key'][i]}, table {c['key']}")
        for path in PATHS:
            if cases[path][i] != c["token"]:
                found.append(f"{c['name']} ({path}): {cases[path][i]}, table {c['token']}")
        if cases["kept"][i] != c.get("kept"):
            found.append(f"{c['name']}: kept {cases['kept'][i]}, table {c.get('kept')}")
    return found


def check(table: dict, device: torch.device) -> dict:
    cases = table["cases"]
    derived = [derive(c, device) for c in cases]
    out = {
        "device": str(device),
        "keys": [cell_key(k["seed"], k["index"], k["row"], k["col"]) for k in table["keys"]],
        "draws": [draw_vector(d, device) for d in table["draws"]],
        "gumbelSha256": hashlib.sha256(
            gumbel_table(device).cpu().numpy().astype("<f4").tobytes()).hexdigest(),
        "cases": {
            "key": [int(k.item()) for _, k in derived],
            "alone": [int(draw(m, k, c, False).item()) for (m, k), c in zip(derived, cases)],
            "syncFree": [int(draw(m, k, c, True).item()) for (m, k), c in zip(derived, cases)],
            "batched": batched(cases, device),
            "kept": [kept(m, c) for (m, _), c in zip(derived, cases)],
        },
    }
    out["mismatches"] = mismatches(table, out)
    return out


def main(argv) -> int:
    torch.set_num_threads(1)
    device = torch.device(argv[argv.index("--device") + 1] if "--device" in argv else "cpu")
    with open(argv[0], encoding="utf-8") as f:
        table = json.load(f)
    print(json.dumps(check(table, device)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
