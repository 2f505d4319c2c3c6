"""Write a tiny random Emu3-Gen model directory for tests and benchmarks: what a Hugging Face
Emu3-Gen-hf directory holds (config.json with its vocabulary_map, generation_config.json,
model.safetensors, the tokenizer files, the processor files), made here from transformers' own
config classes (Emu3Config, Emu3TextConfig, Emu3VQVAEConfig) with random weights and a small
byte-level tokenizer carrying Emu3's special tokens, so `from_pretrained(DIR,
local_files_only=True)` works with no hub access.

Usage (from worker/): python -m families.emu3.tiny OUT_DIR [--preset test|pass|mid] [--seed N]
                                                    [--side N]
                      python -m families.emu3.tiny OUT_DIR --broken KIND
  test: 5x5 grid (image_area 1600), 64 visual tokens, 2 layers of width 32 (peer, batch and
        parity tests)
  pass: 90x90 grid (the processor's default image_area 518400, as Emu3-Gen-hf), 2 layers of
        width 256 (head dim 64, 2 K/V heads), context 9216 (pass counts, the 90x90 memory probe)
  mid:  32x32 grid, 32768 visual tokens, 8 layers of width 512, 4:1 grouped-query attention
        (the CPU benchmark)
  --side N: the preset's model generating an N x N grid (image_area (8N)^2; the CPU bench's
        16x16 mid model), within its context
  --broken no-tokenizer:   the test model without its tokenizer files
  --broken other-family:   a config.json of another transformers family (llama)
  --broken no-decoder:     the test model whose safetensors lack the VQ decoder's weights
  --broken bad-visual:     a vocabulary_map whose visual tokens skip an index

The text vocabulary: the special tokens, the 256 byte-level symbols, the EOL `<|extra_200|>`,
then the visual tokens `<|visual token 000000|>`.. at the end, as Emu3's tokenizer has them. The
weights are hf_tiny.randomize's.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass, replace

import torch

from hf_tiny import randomize

SPECIAL = {  # Emu3's names for its special tokens (Emu3-Gen-hf's tokenizer_config.json)
    "pad_token": "<|endoftext|>",
    "bos_token": "<|extra_203|>",
    "eos_token": "<|extra_204|>",
    "image_token": "<image>",
    "boi_token": "<|image start|>",
    "eoi_token": "<|image end|>",
    "image_wrapper_token": "<|image token|>",
    "eof_token": "<|extra_201|>",
}
EOL = "<|extra_200|>"


@dataclass
class Preset:
    side: int  # grid H = W (from image_area, ratio 1:1, 8 px per token)
    codebook: int  # visual tokens = VQ codebook size
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    context: int  # max_position_embeddings: prompt + H*(W+1) + 3 must fit
    image_area: bool = True  # write image_area into processor_config.json (else the default)


PRESETS = {
    "test": Preset(side=5, codebook=64, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=512),
    "pass": Preset(side=90, codebook=64, hidden=256, layers=2, heads=4, kv_heads=2,
                   intermediate=512, context=9216, image_area=False),
    "mid": Preset(side=32, codebook=32768, hidden=512, layers=8, heads=8, kv_heads=2,
                  intermediate=1536, context=2048),
}


def visual_name(k: int) -> str:
    return f"<|visual token {k:06d}|>"


def make_tokenizer(codebook: int):
    """A byte-level BPE with no merges (every UTF-8 byte a token), Emu3's special tokens, the
    EOL token and the visual tokens; no BOS added by the tokenizer (Emu3Processor writes it as
    text), wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL.values()) + [EOL]
    vocab = {token: i for i, token in enumerate(specials)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    visual = [visual_name(k) for k in range(codebook)]
    for name in visual:
        vocab[name] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials + visual)
    named = {k: SPECIAL[k] for k in ("bos_token", "eos_token", "pad_token")}
    extra = {k: v for k, v in SPECIAL.items() if k not in named}
    return PreTrainedTokenizerFast(tokenizer_object=tok, padding_side="left",
                                   extra_special_tokens=extra, **named)


def make_config(p: Preset, tokenizer):
    from transformers import Emu3Config, Emu3TextConfig, Emu3VQVAEConfig

    vocab = dict(tokenizer.get_vocab())
    ids = {k: vocab[v] for k, v in SPECIAL.items()}
    text = Emu3TextConfig(vocab_size=len(vocab), hidden_size=p.hidden,
                          intermediate_size=p.intermediate, num_hidden_layers=p.layers,
                          num_attention_heads=p.heads, num_key_value_heads=p.kv_heads,
                          max_position_embeddings=p.context, pad_token_id=ids["pad_token"],
                          bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"])
    # Emu3's VQ: 8 px per token (four levels), 4 frames from one latent (frame 0 is the image);
    # 32 channels (its GroupNorms have 32 groups), no attention but the middle block's.
    vq = Emu3VQVAEConfig(codebook_size=p.codebook, embed_dim=4, latent_channels=4,
                         base_channels=32, channel_multiplier=[1, 1, 1, 1], num_res_blocks=1,
                         attn_resolutions=[], hidden_size=32, temporal_downsample_factor=4)
    return Emu3Config(text_config=text, vq_config=vq, vocabulary_map=vocab), ids


def write_processor_files(out: str, p: Preset):
    """What Emu3Processor.save_pretrained writes (by hand: Emu3ImageProcessor needs PIL, which
    the worker does not depend on). image_area sets the generated grid (8 px per token)."""
    processor = {"processor_class": "Emu3Processor"}
    if p.image_area:
        processor["image_area"] = (8 * p.side) ** 2
    files = {
        "processor_config.json": processor,
        "preprocessor_config.json": {"image_processor_type": "Emu3ImageProcessor",
                                     "processor_class": "Emu3Processor",
                                     "do_normalize": True, "do_rescale": True,
                                     "do_resize": True, "do_pad": True,
                                     "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                                     "rescale_factor": 1 / 255, "spatial_factor": 8,
                                     "min_pixels": 64, "max_pixels": (8 * p.side) ** 2},
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)


def write_model(out: str, preset: str = "test", seed: int = 0, side: int = 0):
    from transformers import Emu3ForConditionalGeneration, GenerationConfig
    from transformers.utils import logging

    logging.disable_progress_bar()
    p = PRESETS[preset]
    if side:
        if side * (side + 1) + 64 > p.context:
            raise SystemExit(f"--side {side}: {side}x{side} + EOL does not fit the {preset} "
                             f"preset's context {p.context}; take a smaller side")
        p = replace(p, side=side, image_area=True)
    tokenizer = make_tokenizer(p.codebook)
    config, ids = make_config(p, tokenizer)
    torch.manual_seed(seed)
    model = Emu3ForConditionalGeneration(config).eval()
    randomize(model, seed)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"],
        pad_token_id=ids["pad_token"])
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_processor_files(out, p)


def drop_decoder(out: str):
    """Rewrite model.safetensors without the VQ decoder's tensors."""
    from safetensors.torch import load_file, save_file
    path = os.path.join(out, "model.safetensors")
    tensors = {k: v for k, v in load_file(path).items() if "vqmodel.decoder." not in k}
    save_file(tensors, path, metadata={"format": "pt"})


def skip_visual(out: str):
    """config.json whose vocabulary_map lacks visual token 3 (the names skip an index)."""
    path = os.path.join(out, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    del config["vocabulary_map"][visual_name(3)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


def write_broken(out: str, kind: str):
    if kind == "other-family":
        from transformers import LlamaConfig
        os.makedirs(out, exist_ok=True)
        LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32).save_pretrained(out)
        return
    write_model(out, "test")
    if kind == "no-tokenizer":
        for name in os.listdir(out):
            if name.startswith("tokenizer") or name == "special_tokens_map.json":
                os.remove(os.path.join(out, name))
    elif kind == "no-decoder":
        drop_decoder(out)
    elif kind == "bad-visual":
        skip_visual(out)


BROKEN = ("no-tokenizer", "other-family", "no-decoder", "bad-visual")


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m families.emu3.tiny")
    parser.add_argument("out")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--side", type=int, default=0)
    parser.add_argument("--broken", choices=BROKEN)
    args = parser.parse_args(argv)
    if args.broken:
        write_broken(args.out, args.broken)
    else:
        write_model(args.out, args.preset, args.seed, args.side)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
