"""An independent float64 reference of Chameleon's VQGAN decoder, for tests: taming-transformers'
Decoder written out as formulas over a state dict read by its official key names. It shares no code
with the worker's families/lumina/vqgan.py: its own key list (decoder_shapes, which also names the
tensors the tiny checkpoints are made of), its own GroupNorm, swish, attention and nearest
upsampling, so a wrong name, order or formula in either one shows as a mismatch.

    GroupNorm(x) = (x - mean_g) / sqrt(var_g + 1e-6) * gamma + beta  over 32 channel groups
    swish(x) = x * sigmoid(x);  up(x)[2i + a, 2j + b] = x[i, j]
    res(x) = shortcut(x) + conv2(swish(GN2(conv1(swish(GN1(x))))))
    attn(x) = x + proj_out(V softmax(Q^T K / sqrt(C))^T),  Q, K, V = 1x1 convs of GN(x)

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m references.lumina_vqgan CKPT YAML CODES.json OUT.f64
  CKPT: a vqgan.ckpt (its state_dict, read with weights_only=True); YAML: its vqgan.yaml
  (model.params: embed_dim, n_embed, ddconfig); CODES.json: [B][H][W] codes -> OUT.f64: the
  decoder's output [B, 3, H·s, W·s] float64, before clamping.
"""

import json
import sys
from typing import Dict, List

import torch

Weights = Dict[str, torch.Tensor]
GROUPS, EPS = 32, 1e-6


def res_shapes(prefix: str, cin: int, cout: int) -> Dict[str, List[int]]:
    shapes = {f"{prefix}.norm1.weight": [cin], f"{prefix}.norm1.bias": [cin],
              f"{prefix}.conv1.weight": [cout, cin, 3, 3], f"{prefix}.conv1.bias": [cout],
              f"{prefix}.norm2.weight": [cout], f"{prefix}.norm2.bias": [cout],
              f"{prefix}.conv2.weight": [cout, cout, 3, 3], f"{prefix}.conv2.bias": [cout]}
    if cin != cout:
        shapes.update({f"{prefix}.nin_shortcut.weight": [cout, cin, 1, 1],
                       f"{prefix}.nin_shortcut.bias": [cout]})
    return shapes


def attn_shapes(prefix: str, c: int) -> Dict[str, List[int]]:
    shapes = {f"{prefix}.norm.weight": [c], f"{prefix}.norm.bias": [c]}
    for name in ("q", "k", "v", "proj_out"):
        shapes.update({f"{prefix}.{name}.weight": [c, c, 1, 1], f"{prefix}.{name}.bias": [c]})
    return shapes


def decoder_shapes(cfg: dict) -> Dict[str, List[int]]:
    """The decoding half of taming's VQModel state dict: name -> shape. cfg: embed_dim,
    n_embed, z_channels, ch, ch_mult, num_res_blocks, attn_resolutions, resolution."""
    ch, mult, blocks = cfg["ch"], cfg["ch_mult"], cfg["num_res_blocks"]
    z, e = cfg["z_channels"], cfg["embed_dim"]
    top = ch * mult[-1]
    shapes = {"quantize.embedding.weight": [cfg["n_embed"], e],
              "post_quant_conv.weight": [z, e, 1, 1], "post_quant_conv.bias": [z],
              "decoder.conv_in.weight": [top, z, 3, 3], "decoder.conv_in.bias": [top]}
    shapes.update(res_shapes("decoder.mid.block_1", top, top))
    shapes.update(attn_shapes("decoder.mid.attn_1", top))
    shapes.update(res_shapes("decoder.mid.block_2", top, top))
    cin, res = top, cfg["resolution"] // 2 ** (len(mult) - 1)
    for level in range(len(mult) - 1, -1, -1):
        cout = ch * mult[level]
        for i in range(blocks + 1):
            shapes.update(res_shapes(f"decoder.up.{level}.block.{i}", cin, cout))
            cin = cout
            if res in cfg["attn_resolutions"]:
                shapes.update(attn_shapes(f"decoder.up.{level}.attn.{i}", cout))
        if level > 0:
            shapes.update({f"decoder.up.{level}.upsample.conv.weight": [cout, cout, 3, 3],
                           f"decoder.up.{level}.upsample.conv.bias": [cout]})
            res *= 2
    shapes.update({"decoder.norm_out.weight": [cin], "decoder.norm_out.bias": [cin],
                   "decoder.conv_out.weight": [3, cin, 3, 3], "decoder.conv_out.bias": [3]})
    return shapes


def conv(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    k = w[f"{p}.weight"]
    return torch.nn.functional.conv2d(x, k, w[f"{p}.bias"], padding=k.shape[-1] // 2)


def gn(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    b, c, h, wd = x.shape
    g = x.reshape(b, GROUPS, -1)
    mean = g.mean(-1, keepdim=True)
    var = ((g - mean) ** 2).mean(-1, keepdim=True)
    y = ((g - mean) / torch.sqrt(var + EPS)).reshape(b, c, h, wd)
    return y * w[f"{p}.weight"].view(1, c, 1, 1) + w[f"{p}.bias"].view(1, c, 1, 1)


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def res(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    h = conv(w, f"{p}.conv1", swish(gn(w, f"{p}.norm1", x)))
    h = conv(w, f"{p}.conv2", swish(gn(w, f"{p}.norm2", h)))
    return (conv(w, f"{p}.nin_shortcut", x) if f"{p}.nin_shortcut.weight" in w else x) + h


def attn(w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    b, c, h, wd = x.shape
    y = gn(w, f"{p}.norm", x)
    q, k, v = (conv(w, f"{p}.{n}", y).reshape(b, c, h * wd) for n in ("q", "k", "v"))
    scores = torch.einsum("bci,bcj->bij", q, k) / c ** 0.5  # [B, query, key]
    probs = torch.exp(scores - scores.amax(-1, keepdim=True))
    probs = probs / probs.sum(-1, keepdim=True)
    out = torch.einsum("bcj,bij->bci", v, probs).reshape(b, c, h, wd)
    return x + conv(w, f"{p}.proj_out", out)


def up(x: torch.Tensor) -> torch.Tensor:
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


@torch.no_grad()
def reference_decode(state: Weights, cfg: dict, codes: torch.Tensor) -> torch.Tensor:
    """codes [B, H, W] -> [B, 3, H·s, W·s] float64 (before clamping)."""
    w = {k: v.double() for k, v in state.items() if k in decoder_shapes(cfg)}
    z = w["quantize.embedding.weight"][codes].permute(0, 3, 1, 2)  # [B, e, H, W]
    h = conv(w, "decoder.conv_in", conv(w, "post_quant_conv", z))
    h = res(w, "decoder.mid.block_1", h)
    h = attn(w, "decoder.mid.attn_1", h)
    h = res(w, "decoder.mid.block_2", h)
    for level in range(len(cfg["ch_mult"]) - 1, -1, -1):
        for i in range(cfg["num_res_blocks"] + 1):
            h = res(w, f"decoder.up.{level}.block.{i}", h)
            if f"decoder.up.{level}.attn.{i}.q.weight" in w:
                h = attn(w, f"decoder.up.{level}.attn.{i}", h)
        if level > 0:
            h = conv(w, f"decoder.up.{level}.upsample.conv", up(h))
    return conv(w, "decoder.conv_out", swish(gn(w, "decoder.norm_out", h)))


def main(argv) -> int:
    ckpt, yaml_path, codes_path, out = argv[:4]
    import yaml
    with open(yaml_path, encoding="utf-8") as f:
        params = yaml.safe_load(f)["model"]["params"]
    cfg = {**params["ddconfig"], "embed_dim": params["embed_dim"], "n_embed": params["n_embed"]}
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    for key, shape in decoder_shapes(cfg).items():
        if list(state[key].shape) != shape:
            raise SystemExit(f"{key}: shape {list(state[key].shape)}, expected {shape}")
    with open(codes_path, encoding="utf-8") as f:
        codes = torch.tensor(json.load(f), dtype=torch.long)
    reference_decode(state, cfg, codes).numpy().astype("<f8").tofile(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
