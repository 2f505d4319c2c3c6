"""Write a tiny random Janus model directory for tests and benchmarks: what a Hugging Face
Janus-Pro directory holds (config.json, generation_config.json, model.safetensors, the
tokenizer files, the processor files), made here from transformers' own config classes with
random weights and a small byte-level tokenizer, so `from_pretrained(DIR, local_files_only=True)`
works with no hub access.

Usage (from worker/): python -m families.janus.tiny OUT_DIR [--preset test|pass|mid] [--seed N]
                      python -m families.janus.tiny OUT_DIR --broken KIND
  test: 4x4 grid, codebook 256, 2 layers of width 32 (peer, batch and parity tests)
  pass: 24x24 grid, the same small model (Janus-Pro's grid, for pass counts and 384x384 PNGs)
  mid:  24x24 grid, codebook 16384, 8 layers of width 512 (the CPU benchmark)
  --broken no-tokenizer: the test model without its tokenizer files
  --broken other-family: a config.json of another transformers family (llama)

The weights are hf_tiny.randomize's: spread wide enough that greedy decoding has no near-ties.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass

import torch

from hf_tiny import randomize

SPECIAL = {  # DeepSeek's names for Janus's special tokens
    "bos_token": "<｜begin▁of▁sentence｜>",
    "eos_token": "<｜end▁of▁sentence｜>",
    "pad_token": "<｜▁pad▁｜>",
    "image_token": "<image_placeholder>",
    "boi_token": "<begin_of_image>",
    "eoi_token": "<end_of_image>",
}

# The Janus-Pro conversation format for one user turn and the generation prompt:
# "<|User|>: {text}\n\n<|Assistant|>:" (text stripped); the processor appends <begin_of_image>.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|User|>: {% else %}<|Assistant|>: {% endif %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}"
    "{{ part['text'] | trim }}{% endif %}{% endfor %}"
    "{% if message['role'] == 'user' %}\n\n{% else %}<｜end▁of▁sentence｜>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|Assistant|>:{% endif %}"
)


@dataclass
class Preset:
    side: int  # grid H = W; num_image_tokens = side ** 2
    codebook: int  # VQ codebook size = image-token vocab
    hidden: int  # language model width = generation aligner / head width
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    context: int  # max_position_embeddings: prompt + side ** 2 must fit
    vq_base: int = 32  # VQ decoder channels (GroupNorm of 32 groups: at least 32)
    vq_levels: int = 5  # decoder resolutions: scale 2 ** (levels - 1) = 16 px per token


PRESETS = {
    "test": Preset(side=4, codebook=256, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=128),
    "pass": Preset(side=24, codebook=256, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=640),
    "mid": Preset(side=24, codebook=16384, hidden=512, layers=8, heads=8, kv_heads=8,
                  intermediate=1536, context=1024),
}


def make_tokenizer():
    """A byte-level BPE with no merges (every UTF-8 byte a token) plus Janus's special tokens,
    BOS prepended; wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL.values())
    vocab = {token: i for i, token in enumerate(specials)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    bos = SPECIAL["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, vocab[bos])])
    named = {k: SPECIAL[k] for k in ("bos_token", "eos_token", "pad_token")}
    extra = {k: SPECIAL[k] for k in ("image_token", "boi_token", "eoi_token")}
    return PreTrainedTokenizerFast(tokenizer_object=tok, padding_side="left",
                                   extra_special_tokens=extra, **named)


def make_config(p: Preset, tokenizer):
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig, LlamaConfig

    ids = {k: tokenizer.convert_tokens_to_ids(SPECIAL[k]) for k in SPECIAL}
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=p.hidden,
                       intermediate_size=p.intermediate, num_hidden_layers=p.layers,
                       num_attention_heads=p.heads, num_key_value_heads=p.kv_heads,
                       max_position_embeddings=p.context, bos_token_id=ids["bos_token"],
                       eos_token_id=ids["eos_token"], pad_token_id=ids["pad_token"])
    # The understanding tower (SigLIP) is unused by image generation: keep it minimal. Its
    # image_size / patch_size is the VQ grid side (JanusConfig sets vq num_patches from it).
    vision = JanusVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               image_size=16 * p.side, patch_size=16, projection_dim=p.hidden,
                               num_image_tokens=p.side * p.side, depth=1)
    vq = JanusVQVAEConfig(embed_dim=8, num_embeddings=p.codebook, latent_channels=p.vq_base,
                          base_channels=p.vq_base, channel_multiplier=[1] * p.vq_levels,
                          num_res_blocks=1, projection_dim=p.hidden,
                          image_token_embed_dim=p.hidden, num_hidden_layers=2)
    return JanusConfig(text_config=text, vision_config=vision, vq_config=vq,
                       image_token_id=ids["image_token"]), ids


def write_processor_files(out: str, p: Preset):
    """What JanusProcessor.save_pretrained writes (written by hand: JanusImageProcessor needs
    torchvision, which the worker does not depend on)."""
    side = 16 * p.side
    files = {
        "processor_config.json": {"processor_class": "JanusProcessor",
                                  "num_image_tokens": p.side * p.side,
                                  "use_default_system_prompt": True},
        "preprocessor_config.json": {"image_processor_type": "JanusImageProcessor",
                                     "processor_class": "JanusProcessor",
                                     "do_normalize": True, "do_rescale": True,
                                     "do_resize": True, "do_pad": True,
                                     "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                                     "rescale_factor": 1 / 255, "min_size": 14,
                                     "size": {"height": side, "width": side}},
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)
    with open(os.path.join(out, "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write(CHAT_TEMPLATE)


def write_model(out: str, preset: str = "test", seed: int = 0):
    from transformers import GenerationConfig, JanusForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    p = PRESETS[preset]
    tokenizer = make_tokenizer()
    config, ids = make_config(p, tokenizer)
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config).eval()
    randomize(model, seed)
    # As transformers' Janus conversion sets it: CFG scale 5, pad and begin-of-image ids.
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"],
        pad_token_id=ids["pad_token"], guidance_scale=5, temperature=1.0,
        generation_kwargs={"boi_token_id": ids["boi_token"]})
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_processor_files(out, p)


def write_broken(out: str, kind: str):
    if kind == "no-tokenizer":
        write_model(out, "test")
        for name in os.listdir(out):
            if name.startswith("tokenizer") or name == "special_tokens_map.json":
                os.remove(os.path.join(out, name))
    elif kind == "other-family":
        from transformers import LlamaConfig
        os.makedirs(out, exist_ok=True)
        LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32).save_pretrained(out)
    else:
        raise SystemExit(f"unknown --broken kind {kind!r} (no-tokenizer, other-family)")


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m families.janus.tiny")
    parser.add_argument("out")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--broken", choices=["no-tokenizer", "other-family"])
    args = parser.parse_args(argv)
    if args.broken:
        write_broken(args.out, args.broken)
    else:
        write_model(args.out, args.preset, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
