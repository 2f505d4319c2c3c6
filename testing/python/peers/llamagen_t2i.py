"""The peer reference for the LlamaGen t2i family: a plain greedy loop that recomputes LlamaGen's
whole t2i GPT (no cache) over the sequence so far at every token, following the official rules
(autoregressive/models/gpt.py, generate.py, sample/sample_t2i.py, language/t5.py), in float64.

Written from those rules, apart from families/llamagen_t2i and its c2i parent, on purpose: an
oracle that shared the family's code could not catch the family's mistakes. Its own parts:
- the caption: the T5 tokenizer pads to the caption positions (max_length = the null caption's
  rows, 120) and truncates, T5EncoderModel's last hidden state is taken over all of them; then
  left padding as the sample script does it: the mask flipped, the features rotated so the
  padded rows come first, and multiplied by the flipped mask;
- the forward (the Transformer's training-style call over [caption rows, image tokens]): cap_proj
  (fc1, tanh GELU, fc2) of the caption, token embeddings of the image; 2-D RoPE from LlamaGen's
  precompute_freqs_cis_2d with the caption positions' cos = sin = 0, applied to interleaved
  pairs; the attention mask of generate(): causal, the caption columns multiplied by the mask,
  then the diagonal set; RMSNorm (eps 1e-5), SwiGLU, the head;
- CFG as generate() mixes it for a scale > 1: the unconditional rows are uncond_embedding whole
  under the same mask, logits u + (c - u)·g; greedy = argmax (top-k 1).
The prompts the tests give are already what LlamaGen's caption cleaner returns (lower case,
single spaces), so the peer feeds them as they are.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m peers.llamagen_t2i CKPT T5_DIR --grid HxW --heads N --prompt TEXT [--prompt …]
        [--cfg G]  -> JSON {"grids": [[H*W ids], …], "valid": [caption tokens, …]}
    python -m peers.llamagen_t2i CKPT T5_DIR --grid HxW --heads N --prompt TEXT
        --logits CODES.json OUT.f64 [--unconditional]  -> the logits [H*W, V] float64 of one full
        forward over the caption and the grid CODES (raster), each row predicting its cell
"""

import argparse
import json
import sys

import numpy as np
import torch


def text_encoder(t5_dir: str):
    """(tokenizer, T5EncoderModel) of a FLAN-T5 directory, as LlamaGen's T5Embedder loads them."""
    from transformers import AutoTokenizer, T5EncoderModel
    return (AutoTokenizer.from_pretrained(t5_dir, local_files_only=True),
            T5EncoderModel.from_pretrained(t5_dir, local_files_only=True).eval())


def caption(t5, prompt: str, tokens: int):
    """-> (features [tokens, d] float64 left-padded and masked, mask [tokens] bool)."""
    tokenizer, encoder = t5
    batch = tokenizer([prompt], max_length=tokens, padding="max_length", truncation=True,
                      return_attention_mask=True, return_tensors="pt")
    with torch.no_grad():
        emb = encoder(input_ids=batch["input_ids"],
                      attention_mask=batch["attention_mask"]).last_hidden_state[0]  # [T, d]
    mask = batch["attention_mask"][0]
    valid = int(mask.sum())
    emb = torch.cat([emb[valid:], emb[:valid]]).double().numpy()  # padded rows first
    mask = np.flip(mask.numpy()).astype(bool).copy()
    return emb * mask[:, None], mask


def rope_angles(cfg: dict, n: int) -> np.ndarray:
    """[T + n, hd/2] angles (NaN marks a caption row: cos = sin = 0)."""
    half = cfg["hd"] // 2
    freqs = 1.0 / cfg["base"] ** (np.arange(0, half, 2)[: half // 2] / half)
    cells = np.arange(n)
    rows, cols = cells // cfg["W"], cells % cfg["W"]
    grid = np.concatenate([np.outer(rows, freqs), np.outer(cols, freqs)], axis=1)
    return np.concatenate([np.full((cfg["T"], half), np.nan), grid])


def rotate(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """x: [L, heads, hd], pairs (2j, 2j+1) turned by angles [L, hd/2]; NaN rows -> zero."""
    cos = np.nan_to_num(np.cos(angles), nan=0.0)[:, None]
    sin = np.nan_to_num(np.sin(angles), nan=0.0)[:, None]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = b * cos + a * sin
    return out


def rms(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * w


def forward(w: dict, cfg: dict, cap: np.ndarray, mask: np.ndarray, codes) -> np.ndarray:
    """cap: [T, c] caption features, mask: [T], codes: n image tokens -> logits [n + 1, V]
    at positions T - 1 .. T - 1 + n (each predicting the next cell)."""
    T, n, hd, heads = cfg["T"], len(codes), cfg["hd"], cfg["heads"]
    h = cap @ w["cls_embedding.cap_proj.fc1.weight"].T
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    x = np.concatenate([h @ w["cls_embedding.cap_proj.fc2.weight"].T,
                        w["tok_embeddings.weight"][np.asarray(codes, dtype=np.int64)]])
    L = T + n
    allowed = np.tril(np.ones((L, L), dtype=bool))
    allowed[:, :T] &= mask[None, :]
    allowed[np.arange(L), np.arange(L)] = True
    angles = rope_angles(cfg, n)
    d = x.shape[1]
    for i in range(cfg["layers"]):
        p = f"layers.{i}."
        qkv = rms(x, w[p + "attention_norm.weight"]) @ w[p + "attention.wqkv.weight"].T
        kvd = (qkv.shape[1] - d) // 2
        q = rotate(qkv[:, :d].reshape(L, heads, hd), angles)
        k = rotate(qkv[:, d:d + kvd].reshape(L, -1, hd), angles)
        v = qkv[:, d + kvd:].reshape(L, -1, hd)
        rep = heads // k.shape[1]
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        s = np.einsum("ihd,jhd->hij", q, k) / np.sqrt(hd)
        s = np.where(allowed[None], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        x = x + np.einsum("hij,jhd->ihd", s, v).reshape(L, d) @ w[p + "attention.wo.weight"].T
        y = rms(x, w[p + "ffn_norm.weight"])
        a = y @ w[p + "feed_forward.w1.weight"].T
        x = x + (a / (1 + np.exp(-a)) * (y @ w[p + "feed_forward.w3.weight"].T)) \
            @ w[p + "feed_forward.w2.weight"].T
    return rms(x[T - 1:], w["norm.weight"]) @ w["output.weight"].T


def load(ckpt: str, grid: str, heads: int):
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    w = {k: v.double().numpy() for k, v in state.items()}
    H, W = (int(s) for s in grid.split("x"))
    T = w["cls_embedding.uncond_embedding"].shape[0]
    layers = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("layers."))
    dim = w["tok_embeddings.weight"].shape[1]
    return w, {"H": H, "W": W, "T": T, "heads": heads, "hd": dim // heads, "layers": layers,
               "base": 10000.0}


def greedy(w, cfg, cap, mask, scale: float):
    """The loop of generate(), greedy, a full recompute per token -> H*W ids."""
    null = w["cls_embedding.uncond_embedding"]
    codes = []
    for _ in range(cfg["H"] * cfg["W"]):
        logits = forward(w, cfg, cap, mask, codes)[-1]
        if scale > 1:
            u = forward(w, cfg, null, mask, codes)[-1]
            logits = u + (logits - u) * scale
        codes.append(int(np.argmax(logits)))
    return codes


def main(argv) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("t5")
    ap.add_argument("--grid", required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--prompt", action="append", required=True)
    ap.add_argument("--cfg", type=float, default=1.0)
    ap.add_argument("--logits", nargs=2)
    ap.add_argument("--unconditional", action="store_true")
    a = ap.parse_args(argv)
    w, cfg = load(a.ckpt, a.grid, a.heads)
    t5 = text_encoder(a.t5)
    if a.logits:
        cap, mask = caption(t5, a.prompt[0], cfg["T"])
        if a.unconditional:
            cap = w["cls_embedding.uncond_embedding"]
        with open(a.logits[0], encoding="utf-8") as f:
            codes = json.load(f)
        forward(w, cfg, cap, mask, codes)[:-1].astype(np.float64).tofile(a.logits[1])
        return 0
    grids, valid = [], []
    for prompt in a.prompt:
        cap, mask = caption(t5, prompt, cfg["T"])
        grids.append(greedy(w, cfg, cap, mask, a.cfg))
        valid.append(int(mask.sum()))
    print(json.dumps({"grids": grids, "valid": valid}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
