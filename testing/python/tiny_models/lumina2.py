"""Write a tiny random Lumina-mGPT 2.0 model directory for tests: what
Alpha-VLLM/Lumina-mGPT-2.0 holds (config.json of a Chameleon model, model.safetensors, the
tokenizer files), made here with transformers' own ChameleonConfig and random weights and a small
byte-level tokenizer, so `from_pretrained(DIR, local_files_only=True)` works with no hub access.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.lumina2 OUT_DIR [--preset test] [--seed N]
    python -m tiny_models.lumina2 OUT_DIR --broken KIND
  test: 2 layers of width 32, a context of 512 (peer, batch and parity tests); pass: the same
  with a context for 768 px, 96x96 + EOL (pass counts). The grid is the size the directory name
  ends in (test-32: 4x4, pass-768: 96x96), or the hello's; --broken no-tokenizer |
  no-movqgan | small-vocab (a vocab_size below the image ids: no 2.0 config).

The release's layout (families/lumina2/vocab.py): the image codes at the fixed ids 155000 + k for
k < 16384, so vocab_size reaches past 171383 (here 171392) although the tokenizer names only its
text tokens; the layout's tokens (<racm3:break>, <eoss>, <reserved08799>, the size tokens
<reserved{8800+n}>, the turn separator <reserved08706>) by name; no BOS token (Lumina's prompt
then starts with the EOS token, as its Tokenizer does for a Qwen-style vocabulary). The qk-norms
are stored per head group (model_parallel_size 2) and the VQ encoder is left out of the weights,
as Lumina's fine-tuning solver deletes it before saving.

movqgan_270M.ckpt: a random MoVQGAN with the release's key names (taming's decoder, each norm a
spatial norm: norm_layer, conv_y, conv_b) and its 16,384 x 4 codebook at a small width (ch 32,
ch_mult [1, 1, 2, 2]: 8 px a token, attention at the coarsest level as the 270M model's), a
state dict at the top level as the release loads it, with two encoder tensors the decoder must
leave unread.
"""

import os
import re
import sys
from typing import Dict

import torch

from references.lumina_vqgan import decoder_shapes
from tiny_models.lumina import LAYOUT_TOKENS, SIZE_TOKENS, make_tokenizer, save_chameleon
from tiny_models.random_weights import builder_main, remove_tokenizer

EOS = "<|endoftext|>"
IMAGE_BASE, CODEBOOK = 155000, 16384
VOCAB_SIZE = 171392  # >= IMAGE_BASE + CODEBOOK, a multiple of 64
TEST = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=64)
PRESETS = {"test": dict(TEST, max_position_embeddings=512),
           "pass": dict(TEST, max_position_embeddings=9600),  # 768 px: 96x96 + EOL fits
           # For benchmarks (docs/lumina2.md): GPT-B-like layers, 256 px (32x32 + EOL) fits.
           "mid": dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
                       num_key_value_heads=8, intermediate_size=1536,
                       max_position_embeddings=2560)}
# A small VQ encoder config (transformers builds one; its weights are not saved).
VQ = {"embed_dim": 4, "num_embeddings": CODEBOOK, "latent_channels": 4, "base_channels": 32,
      "channel_multiplier": [1, 2], "num_res_blocks": 1, "attn_resolutions": [],
      "resolution": 32, "double_latent": False}
MOVQ = {"embed_dim": 4, "n_embed": CODEBOOK, "z_channels": 4, "ch": 32, "ch_mult": [1, 1, 2, 2],
        "num_res_blocks": 1, "attn_resolutions": [1], "resolution": 8}
NORM = re.compile(r"\.(norm1|norm2|norm|norm_out)\.(weight|bias)$")


def movqgan_state(seed: int) -> Dict[str, torch.Tensor]:
    """The release's MoVQGAN state dict (decoder half, and two encoder tensors), random."""
    shapes = {}
    for key, shape in decoder_shapes(MOVQ).items():
        match = NORM.search(key)
        if not match:
            shapes[key] = shape
            continue
        base, c, e = key[:match.start()] + f".{match[1]}", shape[0], MOVQ["embed_dim"]
        shapes[f"{base}.norm_layer.{match[2]}"] = shape
        for conv in ("conv_y", "conv_b"):
            shapes[f"{base}.{conv}.weight"], shapes[f"{base}.{conv}.bias"] = [c, e, 1, 1], [c]
    shapes.update({"encoder.conv_in.weight": [32, 3, 3, 3], "quant_conv.weight": [4, 4, 1, 1]})
    gen = torch.Generator().manual_seed(seed + 5)
    state = {}
    for key, shape in sorted(shapes.items()):
        noise = torch.randn(shape, generator=gen)
        if len(shape) == 1:
            gain = "norm_layer" in key and key.endswith("weight") or "conv_y.bias" in key
            state[key] = 1 + 0.1 * noise if gain else 0.1 * noise
        else:
            state[key] = noise / int(torch.tensor(shape[1:]).prod()) ** 0.5
    return state


def make_vocab() -> Dict[str, int]:
    from tokenizers import pre_tokenizers
    vocab = {EOS: 0}
    for name in LAYOUT_TOKENS + SIZE_TOKENS:
        vocab[name] = len(vocab)
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    return vocab


def write_model(out: str, preset: str = "test", seed: int = 0, vocab_size: int = VOCAB_SIZE):
    from safetensors.torch import load_file, save_file
    from transformers import ChameleonConfig

    vocab = make_vocab()
    config = ChameleonConfig(vocab_size=vocab_size, **PRESETS[preset], eos_token_id=0,
                             bos_token_id=None, pad_token_id=None, model_parallel_size=2,
                             vocabulary_map=vocab, vq_config=VQ, mask_image_logits=False,
                             z_loss_weight=0.0)
    save_chameleon(config, out, seed)
    path = os.path.join(out, "model.safetensors")
    state = {k: v for k, v in load_file(path).items() if not k.startswith("model.vqmodel.")}
    save_file(state, path, metadata={"format": "pt"})
    make_tokenizer(vocab, [EOS] + LAYOUT_TOKENS + SIZE_TOKENS, eos_token=EOS,
                   pad_token=EOS).save_pretrained(out)
    torch.save(movqgan_state(seed), os.path.join(out, "movqgan_270M.ckpt"))


def write_broken(out: str, kind: str):
    if kind == "small-vocab":
        write_model(out, vocab_size=IMAGE_BASE)
        return
    write_model(out)
    if kind == "no-tokenizer":
        remove_tokenizer(out)
    elif kind == "no-movqgan":
        os.remove(os.path.join(out, "movqgan_270M.ckpt"))
    else:
        raise SystemExit(f"unknown --broken kind {kind!r}")


def main(argv) -> int:
    return builder_main("python -m tiny_models.lumina2", argv, PRESETS,
                        ["no-tokenizer", "no-movqgan", "small-vocab"], write_model, write_broken)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
