"""Write a tiny random Lumina-mGPT model directory for tests and benchmarks: what a Lumina-mGPT
Hugging Face directory holds (config.json of a Chameleon model with its vocabulary_map,
model.safetensors, the tokenizer files), plus Meta's VQGAN files (vqgan.ckpt, vqgan.yaml), made
here from transformers' own config classes with random weights and a small byte-level tokenizer,
so `from_pretrained(DIR, local_files_only=True)` works with no hub access.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.lumina OUT_DIR [--preset test|pass|mid] [--seed N]
    python -m tiny_models.lumina OUT_DIR --broken KIND
  test: codebook 256, 2 layers of width 32 (peer, batch and parity tests)
  pass: the same model with a context for 48x48 + EOL (768 px; pass counts)
  mid:  codebook 8192 (Chameleon's), 8 layers of width 512 (the CPU benchmark)
  The grid is the size the directory name ends in (test-64: 4x4, pass-768: 48x48), or the
  hello's; --broken no-tokenizer | other-family | no-vqgan | no-image-tokens.

Laid out as Meta's Chameleon vocabulary is: <s> <pad> </s> <unk> at 0..3, the IMGIMG… image tokens
from 4 on (here in a shuffled order, so a reader that takes code k = id - 4 instead of the names
fails), then <eoss>, <racm3:break>, the <reservedNNNNN> tokens Lumina-mGPT uses, then one token per
byte. Lumina's checkpoints store qk-norms as [model_parallel_size, head_dim]
(families/lumina/loading.py); so does this one, with model_parallel_size 2. The VQGAN checkpoint
holds transformers' ChameleonVQVAE encoder weights (its key names) and a random decoder with
taming's key names (references/lumina_vqgan.decoder_shapes), as {"state_dict": …} like Meta's
vqgan.ckpt.
"""

import os
import sys
from dataclasses import dataclass
from typing import Dict, List

import torch

from references.lumina_vqgan import decoder_shapes
from tiny_models.random_weights import builder_main, randomize

SPECIAL_HEAD = ["<s>", "<pad>", "</s>", "<unk>"]
LAYOUT_TOKENS = ["<eoss>", "<racm3:break>", "<reserved08706>", "<image>", "<reserved08799>"]
SIZE_TOKENS = [f"<reserved{8800 + n:05d}>" for n in range(1, 65)]  # up to 2048 px a side
MODEL_PARALLEL = 2


@dataclass
class Preset:
    codebook: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    context: int


PRESETS = {
    "test": Preset(codebook=256, hidden=32, layers=2, heads=4, kv_heads=2, intermediate=64,
                   context=256),
    "pass": Preset(codebook=256, hidden=32, layers=2, heads=4, kv_heads=2, intermediate=64,
                   context=2560),
    "mid": Preset(codebook=8192, hidden=512, layers=8, heads=8, kv_heads=8, intermediate=1536,
                  context=1024),
}

# The VQGAN: Chameleon's ch_mult [1, 1, 2, 2, 4] (16 px per token) at a small width, with
# attention at one level so its weights are exercised (Chameleon's own attn_resolutions is []).
VQGAN = {"embed_dim": 8, "z_channels": 32, "ch": 32, "ch_mult": [1, 1, 2, 2, 4],
         "num_res_blocks": 1, "attn_resolutions": [8], "resolution": 64}


def image_name(code: int) -> str:
    """Chameleon's name of image code k: IMGIMG, the digits of k as letters A-J, Z."""
    return "IMGIMG" + "".join(chr(ord("A") + int(d)) for d in str(code)) + "Z"


def make_vocab(codebook: int, seed: int) -> Dict[str, int]:
    from tokenizers import pre_tokenizers
    order = torch.randperm(codebook, generator=torch.Generator().manual_seed(seed + 1))
    vocab = {name: i for i, name in enumerate(SPECIAL_HEAD)}
    for slot, code in enumerate(order.tolist()):
        vocab[image_name(code)] = 4 + slot
    for name in LAYOUT_TOKENS + SIZE_TOKENS:
        vocab[name] = len(vocab)
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    return vocab


def make_tokenizer(vocab: Dict[str, int], specials: List[str] = None, **names):
    """A byte-level BPE with no merges (every UTF-8 byte a token) and the special tokens as
    added tokens, wrapped as a transformers fast tokenizer (no BOS added: Lumina adds it).
    `names`: its bos/eos/pad/unk tokens (Meta's Chameleon ones unless given)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials or SPECIAL_HEAD + LAYOUT_TOKENS + SIZE_TOKENS)
    names = names or {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                      "unk_token": "<unk>"}
    return PreTrainedTokenizerFast(tokenizer_object=tok, **names)


def make_config(p: Preset, vocab: Dict[str, int]):
    from transformers import ChameleonConfig
    vq = {"embed_dim": VQGAN["embed_dim"], "num_embeddings": p.codebook,
          "latent_channels": VQGAN["z_channels"], "base_channels": VQGAN["ch"],
          "channel_multiplier": VQGAN["ch_mult"], "num_res_blocks": VQGAN["num_res_blocks"],
          "attn_resolutions": VQGAN["attn_resolutions"], "resolution": VQGAN["resolution"],
          "double_latent": False}
    # Lumina-mGPT's config.json carries its fork's keys too (z_loss_weight, mask_image_logits).
    return ChameleonConfig(vocab_size=len(vocab), hidden_size=p.hidden,
                           intermediate_size=p.intermediate, num_hidden_layers=p.layers,
                           num_attention_heads=p.heads, num_key_value_heads=p.kv_heads,
                           max_position_embeddings=p.context, bos_token_id=0, pad_token_id=1,
                           eos_token_id=2, model_parallel_size=MODEL_PARALLEL,
                           vocabulary_map=vocab, vq_config=vq, z_loss_weight=0.0,
                           mask_image_logits=False)


def lumina_qk_norms(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """[heads, head_dim] qk-norms -> Lumina's [model_parallel_size, head_dim] (one row per
    group of heads; loading expands them back with repeat_interleave)."""
    out = dict(state)
    for key, value in state.items():
        if key.endswith(("q_norm.weight", "q_norm.bias", "k_norm.weight", "k_norm.bias")):
            out[key] = value.reshape(MODEL_PARALLEL, -1, value.shape[-1])[:, 0].contiguous()
    return out


def vqgan_yaml(codebook: int) -> str:
    """vqgan.yaml in the form of Meta's (taming's VQModel parameters)."""
    dd = VQGAN
    return "\n".join([
        "model:", "  target: taming.models.vqgan.VQModel", "  params:",
        f"    embed_dim: {dd['embed_dim']}", f"    n_embed: {codebook}", "    ddconfig:",
        "      double_z: false", f"      z_channels: {dd['z_channels']}",
        f"      resolution: {dd['resolution']}", "      in_channels: 3", "      out_ch: 3",
        f"      ch: {dd['ch']}", f"      ch_mult: {dd['ch_mult']}",
        f"      num_res_blocks: {dd['num_res_blocks']}",
        f"      attn_resolutions: {dd['attn_resolutions']}", "      dropout: 0.0", ""])


def vqgan_state(model, codebook: int, seed: int) -> Dict[str, torch.Tensor]:
    """Meta's vqgan.ckpt state dict: the model's VQ encoder half (transformers' key names, the
    same tensors as model.vqmodel.*) and a random decoder (taming's names)."""
    gen = torch.Generator().manual_seed(seed + 2)
    state = {k: v.detach().clone() for k, v in model.model.vqmodel.state_dict().items()}
    shapes = decoder_shapes({**VQGAN, "n_embed": codebook})
    for key, shape in sorted(shapes.items()):
        if key in state:
            continue  # quantize.embedding and post_quant_conv: the encoder's, as in the file
        noise = torch.randn(shape, generator=gen)
        if len(shape) == 1:
            state[key] = 1 + 0.1 * noise if "norm" in key and key.endswith("weight") \
                else 0.1 * noise
        else:
            state[key] = noise / int(torch.tensor(shape[1:]).prod()) ** 0.5
    return state


def save_chameleon(config, out: str, seed: int):
    """A random ChameleonForConditionalGeneration of `config` saved to `out` as Lumina's
    checkpoints are (model.safetensors, qk-norms per head group) -> the model."""
    from safetensors.torch import load_file, save_file
    from transformers import ChameleonForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.manual_seed(seed)
    model = ChameleonForConditionalGeneration(config).eval()
    randomize(model, seed)
    gen = torch.Generator().manual_seed(seed + 3)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if "self_attn" in name and "_norm." in name:
                # qk-norm gains near 2 (sharp attention, as randomize's 3x q, k projections
                # are without a norm after them), one row per head group as Lumina stores it
                rows = param.reshape(MODEL_PARALLEL, -1, param.shape[-1])
                noise = torch.randn(rows[:, :1].shape, generator=gen)
                value = 2 + 0.3 * noise if name.endswith("weight") else 0.3 * noise
                param.copy_(value.expand_as(rows).reshape(param.shape))
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    path = os.path.join(out, "model.safetensors")
    save_file(lumina_qk_norms(load_file(path)), path, metadata={"format": "pt"})
    return model


def write_model(out: str, preset: str = "test", seed: int = 0):
    p = PRESETS[preset]
    vocab = make_vocab(p.codebook, seed)
    config = make_config(p, vocab)
    model = save_chameleon(config, out, seed)
    make_tokenizer(vocab).save_pretrained(out)
    torch.save({"state_dict": vqgan_state(model, p.codebook, seed)},
               os.path.join(out, "vqgan.ckpt"))
    with open(os.path.join(out, "vqgan.yaml"), "w", encoding="utf-8") as f:
        f.write(vqgan_yaml(p.codebook))


def write_broken(out: str, kind: str):
    if kind == "other-family":
        from transformers import LlamaConfig
        os.makedirs(out, exist_ok=True)
        LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32).save_pretrained(out)
        return
    write_model(out, "test")
    remove: List[str] = []
    if kind == "no-tokenizer":
        remove = [n for n in os.listdir(out) if n.startswith(("tokenizer", "special_tokens"))]
    elif kind == "no-vqgan":
        remove = ["vqgan.ckpt", "vqgan.yaml"]
    elif kind == "no-image-tokens":
        import json
        config_path = os.path.join(out, "config.json")
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        config["vocabulary_map"] = {k: v for k, v in config["vocabulary_map"].items()
                                    if not k.startswith("IMGIMG")}
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f)
    else:
        raise SystemExit(f"unknown --broken kind {kind!r}")
    for name in remove:
        os.remove(os.path.join(out, name))


def main(argv) -> int:
    return builder_main("python -m tiny_models.lumina", argv, PRESETS,
                        ["no-tokenizer", "other-family", "no-vqgan", "no-image-tokens"],
                        write_model, write_broken)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
