"""Write a tiny random Janus model directory for tests and benchmarks: what a Hugging Face
Janus-Pro directory holds (config.json, generation_config.json, model.safetensors, the
tokenizer files, the processor files), made here from transformers' own config classes with
random weights and a small byte-level tokenizer, so `from_pretrained(DIR, local_files_only=True)`
works with no hub access.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.janus OUT_DIR [--preset test|pass|mid] [--seed N]
        [--layout transformers|official]
    python -m tiny_models.janus OUT_DIR --broken KIND
  test: 4x4 grid, codebook 256, 2 layers of width 32 (peer, batch and parity tests)
  pass: 24x24 grid, the same small model (Janus-Pro's grid, for pass counts and 384x384 PNGs)
  mid:  24x24 grid, codebook 16384, 8 layers of width 512 (the CPU benchmark)
  mult: the test model with VQ channel multipliers [1, 1, 2, 2, 4] as Janus-Pro's (levels of
        different widths: the decoder's shortcut convs; the WebGPU decoder's parity test)
  --broken no-tokenizer: the test model without its tokenizer files
  --broken other-family: a config.json of another transformers family (llama)

--layout official writes the same model (the same seed: the same weights) as DeepSeek releases
Janus-Pro: config.json of model_type "multi_modality" whose language_config, like Janus-Pro-7B's,
leaves the widths to the weights; the weights under DeepSeek's names in two pickled shards
(`pytorch_model-0000N-of-00002.bin`) with `pytorch_model.bin.index.json`, beside a few tensors of
the understanding branch and the VQ's usage counter, which generation does not use; the tokenizer
files with DeepSeek's tokenizer_config.json (no chat template) and special_tokens_map.json; the
official processor_config.json. The names are written from the module trees of both codebases,
on their own here: the loader (families/janus/official.py) is not used to write its own input.

The weights are random_weights.randomize's: spread wide enough that greedy decoding has no
near-ties.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass

import torch

from tiny_models.random_weights import randomize

SPECIAL = {  # DeepSeek's names for Janus's special tokens
    "bos_token": "<｜begin▁of▁sentence｜>",
    "eos_token": "<｜end▁of▁sentence｜>",
    "pad_token": "<｜▁pad▁｜>",
    "image_token": "<image_placeholder>",
    "boi_token": "<begin_of_image>",
    "eoi_token": "<end_of_image>",
}
ROLES = ["<|User|>", "<|Assistant|>"]  # Janus-Pro's conversation roles: tokens of their own

# The Janus-Pro conversation format for one user turn and the generation prompt:
# "<|User|>: {text}\n\n<|Assistant|>:" (text stripped); the processor appends <begin_of_image>.
# The separators are expressions, as in transformers' Janus template: transformers renders with
# trim_blocks, which would eat a newline written right after a block tag.
CHAT_TEMPLATE = (
    "{% set seps = ['\n\n', '<｜end▁of▁sentence｜>'] %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|User|>: {% else %}<|Assistant|>: {% endif %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}"
    "{{ part['text'] | trim }}{% endif %}{% endfor %}"
    "{{ seps[0] if message['role'] == 'user' else seps[1] }}"
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
    vq_mult: tuple = ()  # channel multipliers, finest first; () = [1] * vq_levels


PRESETS = {
    "test": Preset(side=4, codebook=256, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=128),
    "pass": Preset(side=24, codebook=256, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=640),
    "mult": Preset(side=4, codebook=256, hidden=32, layers=2, heads=4, kv_heads=2,
                   intermediate=64, context=128, vq_mult=(1, 1, 2, 2, 4)),
    "mid": Preset(side=24, codebook=16384, hidden=512, layers=8, heads=8, kv_heads=8,
                  intermediate=1536, context=1024),
}


def make_tokenizer():
    """A byte-level BPE with no merges (every UTF-8 byte a token) plus Janus's special tokens,
    BOS prepended; wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL.values()) + ROLES
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
                                   extra_special_tokens=extra,
                                   additional_special_tokens=ROLES, **named)


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
                          base_channels=p.vq_base,
                          channel_multiplier=list(p.vq_mult) or [1] * p.vq_levels,
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


def make_model(p: Preset, seed: int):
    """(model, tokenizer, special ids) of a preset, the weights seeded."""
    from transformers import JanusForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    tokenizer = make_tokenizer()
    config, ids = make_config(p, tokenizer)
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config).eval()
    randomize(model, seed)
    return model, tokenizer, ids


def write_model(out: str, preset: str = "test", seed: int = 0):
    from transformers import GenerationConfig

    p = PRESETS[preset]
    model, tokenizer, ids = make_model(p, seed)
    # As transformers' Janus conversion sets it: CFG scale 5, pad and begin-of-image ids.
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"],
        pad_token_id=ids["pad_token"], guidance_scale=5, temperature=1.0,
        generation_kwargs={"boi_token_id": ids["boi_token"]})
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_processor_files(out, p)


# transformers' JanusForConditionalGeneration names -> DeepSeek's MultiModalityCausalLM names.
OFFICIAL_NAMES = (
    (r"^model\.language_model\.", "language_model.model."),
    (r"^lm_head\.weight$", "language_model.lm_head.weight"),
    (r"^model\.generation_embeddings\.", "gen_embed."),
    (r"^model\.generation_aligner\.fc1\.", "gen_aligner.layers.0."),
    (r"^model\.generation_aligner\.hidden_layers\.0\.", "gen_aligner.layers.2."),
    (r"^model\.generation_head\.proj_out\.", "gen_head.output_mlp_projector."),
    (r"^model\.generation_head\.vision_head\.", "gen_head.vision_head."),
    (r"^model\.vqmodel\.", "gen_vision_model."),
    (r"^(gen_vision_model\.decoder)\.up\.", r"\1.conv_blocks."),
    (r"^(gen_vision_model\.encoder)\.down\.", r"\1.conv_blocks."),
    (r"^(gen_vision_model\..*)\.block\.(\d+)\.", r"\1.res.\2."),
    (r"^(gen_vision_model\.(?:en|de)coder\.mid)\.block_1\.", r"\1.0."),
    (r"^(gen_vision_model\.(?:en|de)coder\.mid)\.attn_1\.", r"\1.1."),
    (r"^(gen_vision_model\.(?:en|de)coder\.mid)\.block_2\.", r"\1.2."),
)


def official_state(model) -> dict:
    """The model's generation weights under DeepSeek's names, a few understanding-branch
    tensors (generation ignores them) and the VQ's usage counter."""
    import re

    state = {}
    for name, tensor in model.state_dict().items():
        if name.startswith(("model.vision_model.", "model.aligner.")):
            continue
        for pattern, replacement in OFFICIAL_NAMES:
            name = re.sub(pattern, replacement, name)
        state[name] = tensor.detach().clone()
    gen = torch.Generator().manual_seed(7)
    state["vision_model.vision_tower.pos_embed"] = torch.randn(1, 4, 16, generator=gen)
    state["vision_model.vision_tower.blocks.0.attn.qkv.weight"] = torch.randn(48, 16,
                                                                               generator=gen)
    state["aligner.layers.0.weight"] = torch.randn(model.config.text_config.hidden_size, 16,
                                                   generator=gen)
    state["gen_vision_model.quantize.codebook_used"] = torch.zeros(64)
    return state


def write_official(out: str, preset: str = "test", seed: int = 0):
    """The model of `preset` as DeepSeek releases Janus-Pro (see the module's doc)."""
    p = PRESETS[preset]
    model, tokenizer, ids = make_model(p, seed)
    os.makedirs(out, exist_ok=True)
    state = official_state(model)
    keys = sorted(state)
    shards = [keys[:len(keys) // 2], keys[len(keys) // 2:]]
    weight_map = {}
    for i, part in enumerate(shards):
        name = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save({k: state[k] for k in part}, os.path.join(out, name))
        weight_map.update({k: name for k in part})
    total = sum(t.numel() * t.element_size() for t in state.values())
    text = model.config.text_config
    params = {"depth": 2, "input_dim": 8, "n_embed": p.hidden, "projector_type": "mlp_gelu"}
    files = {
        "pytorch_model.bin.index.json": {"metadata": {"total_size": total},
                                         "weight_map": weight_map},
        "config.json": {
            "aligner_config": {"cls": "MlpProjector", "model_type": "aligner",
                               "params": {**params, "input_dim": 16}},
            "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner",
                                   "params": params},
            "gen_head_config": {"cls": "vision_head", "model_type": "gen_head",
                                "params": {"image_token_embed": p.hidden,
                                           "image_token_size": p.codebook,
                                           "n_embed": p.hidden}},
            "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision",
                                  "params": {"image_token_size": p.codebook, "n_embed": 8}},
            # As Janus-Pro-7B's: the widths are the weights' (hidden, MLP, K/V heads).
            "language_config": {"max_position_embeddings": p.context, "model_type": "llama",
                                "num_attention_heads": p.heads,
                                "num_hidden_layers": p.layers, "torch_dtype": "float32",
                                "vocab_size": text.vocab_size},
            "model_type": "multi_modality",
            "torch_dtype": "float32",
            "transformers_version": "4.33.1",
            "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision",
                              "params": {"image_size": 16 * p.side,
                                         "model_name": "siglip_large_patch16_384",
                                         "select_feature": "same", "select_layer": -1}},
        },
        "tokenizer_config.json": {"bos_token": SPECIAL["bos_token"],
                                  "clean_up_tokenization_spaces": False,
                                  "eos_token": SPECIAL["eos_token"], "model_max_length": 16384,
                                  "pad_token": None, "tokenizer_class": "LlamaTokenizer",
                                  "unk_token": None, "use_default_system_prompt": True},
        "special_tokens_map.json": {"additional_special_tokens": [SPECIAL["image_token"],
                                                                  *ROLES],
                                    "bos_token": SPECIAL["bos_token"],
                                    "eos_token": SPECIAL["eos_token"],
                                    "pad_token": SPECIAL["pad_token"]},
        "processor_config.json": {"add_special_token": False, "ignore_id": -100,
                                  "image_tag": SPECIAL["image_token"], "mask_prompt": True,
                                  "num_image_tokens": p.side * p.side,
                                  "processor_class": "VLChatProcessor", "sft_format": "deepseek"},
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, ensure_ascii=False)
    tokenizer.backend_tokenizer.save(os.path.join(out, "tokenizer.json"))


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
    parser = argparse.ArgumentParser(prog="python -m tiny_models.janus")
    parser.add_argument("out")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--broken", choices=["no-tokenizer", "other-family"])
    parser.add_argument("--layout", choices=["transformers", "official"], default="transformers")
    args = parser.parse_args(argv)
    if args.broken:
        write_broken(args.out, args.broken)
    elif args.layout == "official":
        write_official(args.out, args.preset, args.seed)
    else:
        write_model(args.out, args.preset, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
