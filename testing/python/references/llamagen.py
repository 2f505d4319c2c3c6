"""No-cache reference forward in numpy float64, for tests.

Given every step of a generation, recompute from scratch the logits each query asked for. Each
write event attends, with plain dense masked attention, to exactly the writes its query saw:
for every slot q <= its slot, the newest write of q made in the same step or earlier. That is
the visibility the KV cache promises, proxies and corrections included.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m references.llamagen MODEL STEPS.json OUT.f64 [--heads N] [--grid HxW]
STEPS.json: {"conditions": [...], "steps": [[[seq, slot, token, want], ...], ...]}
"""

import json
import sys

import numpy as np
import torch

from families.family import LoadOptions
from families.llamagen import load_weights


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, angles, prefix_mask):
    """x: [E, heads, D]; angles: [E, D/2]; prefix rows get cos = sin = 0."""
    c = np.where(prefix_mask[:, None], 0.0, np.cos(angles))[:, None, :]
    s = np.where(prefix_mask[:, None], 0.0, np.sin(angles))[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x1 * c + x0 * s
    return out


def forward_events(cfg, w, cond, events):
    """events: [(time, slot, token)] of one sequence -> logits [E, vocab] float64."""
    e = len(events)
    time = np.array([ev[0] for ev in events])
    slot = np.array([ev[1] for ev in events])
    token = np.array([ev[2] for ev in events])
    # visible[i, j]: event j is the newest write of its slot at time[i], and slot[j] <= slot[i]
    later = (slot[:, None] == slot[None, :]) & (time[None, :] > time[:, None])  # [j, k]
    newer = later[None] & (time[None, None, :] <= time[:, None, None])  # [i, j, k]: k overwrote j
    visible = (slot[None, :] <= slot[:, None]) & (time[None, :] <= time[:, None])
    visible &= ~newer.any(-1)
    d, hd = cfg.dim, cfg.head_dim
    half = hd // 2
    freqs = cfg.rope_base ** (-np.arange(0, half, 2)[: half // 2] / half)
    rel = np.maximum(slot - cfg.prefix, 0)
    rows, cols = rel // cfg.width, rel % cfg.width
    angles = np.concatenate([rows[:, None] * freqs, cols[:, None] * freqs], axis=1)  # [E, D/2]
    prefix = slot < cfg.prefix
    x = np.where(prefix[:, None], w["cls_embedding.embedding_table.weight"][cond],
                 w["tok_embeddings.weight"][np.maximum(token, 0)])
    for layer in range(cfg.layers):
        p = f"layers.{layer}."
        h = rms(x, w[p + "attention_norm.weight"], cfg.norm_eps)
        qkv = h @ w[p + "attention.wqkv.weight"].T
        kv = cfg.kv_dim
        q = qkv[:, :d].reshape(e, cfg.heads, hd)
        k = qkv[:, d:d + kv].reshape(e, cfg.n_kv_heads, hd)
        v = qkv[:, d + kv:].reshape(e, cfg.n_kv_heads, hd)
        # Grouped K/V heads: query head h reads K/V head h // rep (LlamaGen's repeat_interleave)
        rep = cfg.heads // cfg.n_kv_heads
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        q, k = rope(q, angles, prefix), rope(k, angles, prefix)
        scores = np.einsum("ihd,jhd->hij", q, k) / np.sqrt(hd)
        scores = np.where(visible[None], scores, -np.inf)
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        out = np.einsum("hij,jhd->ihd", probs, v).reshape(e, d)
        x = x + out @ w[p + "attention.wo.weight"].T
        h = rms(x, w[p + "ffn_norm.weight"], cfg.norm_eps)
        a = h @ w[p + "feed_forward.w1.weight"].T
        gate = a / (1 + np.exp(-a))
        x = x + (gate * (h @ w[p + "feed_forward.w3.weight"].T)) @ w[p + "feed_forward.w2.weight"].T
    return rms(x, w["norm.weight"], cfg.norm_eps) @ w["output.weight"].T


def reference_logits(cfg, weights, conditions, steps):
    w = {k: v.double().numpy() for k, v in weights.items()}
    events = {s: [] for s in range(len(conditions))}  # seq -> [(time, slot, token)]
    wanted = []  # (seq, event index) in query order
    for t, step in enumerate(steps):
        for seq, slot, token, want in step:
            if want:
                wanted.append((seq, len(events[seq])))
            events[seq].append((t, slot, token))
    logits = {s: forward_events(cfg, w, conditions[s], ev) for s, ev in events.items() if ev}
    return np.stack([logits[s][i] for s, i in wanted]) if wanted else np.zeros((0, cfg.vocab))


def main(argv):
    model, steps_path, out = argv[:3]
    opts = dict(zip(argv[3::2], argv[4::2]))
    heads = int(opts["--heads"]) if "--heads" in opts else None
    options = LoadOptions(torch.device("cpu"), torch.float32, None, opts.get("--grid"), heads)
    cfg, weights = load_weights(model, options)
    with open(steps_path, encoding="utf-8") as f:
        spec = json.load(f)
    logits = reference_logits(cfg, weights, spec["conditions"], spec["steps"])
    logits.astype("<f8").tofile(out)


if __name__ == "__main__":
    main(sys.argv[1:])
