"""Write a tiny random Emu3-Gen model directory for tests and benchmarks: what a Hugging Face
Emu3-Gen-hf directory holds (config.json with its vocabulary_map, generation_config.json,
model.safetensors, the tokenizer files, the processor files), made here from transformers' own
config classes (Emu3Config, Emu3TextConfig, Emu3VQVAEConfig) with random weights and a small
byte-level tokenizer carrying Emu3's special tokens, so `from_pretrained(DIR,
local_files_only=True)` works with no hub access.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.emu3 OUT_DIR [--preset test|pass|mid] [--seed N] [--side N]
        [--layout transformers|official]
    python -m tiny_models.emu3 OUT_DIR --broken KIND
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

The text vocabulary is laid out as Emu3's: the regular tokens first (the 256 bytes, id = byte
value, then a few merges: " a", "fo", "fox", "90"), then `<|endoftext|>`, `<|im_start|>`,
`<|im_end|>`, `<|extra_0|>` .. `<|extra_204|>` (EOL `<|extra_200|>`, EOF 201, BOS 203, EOS 204;
transformers' copy names the extra_0 slot `<image>`), `<|image token|>`, `<|image start|>`,
`<|image end|>` and the visual tokens `<|visual token 000000|>`.. at the end. The weights are
random_weights.randomize's.

--layout official writes the same model (the same seed: the same weights) as BAAI releases
Emu3-Gen: config.json of model_type "Emu3" with an auto_map to remote code (the .py files are
here and write REMOTE_CODE_RAN beside themselves if anything ever runs them), the language
model's safetensors under BAAI's names in two shards with model.safetensors.index.json, the
tiktoken tokenizer (emu3.tiktoken, emu3_vision_tokens.txt, a tokenizer_config.json naming the
remote Emu3Tokenizer), and in vision_tokenizer/ the VQ as BAAI/Emu3-VisionTokenizer (config.json
of model_type "Emu3VisionVQ", model.safetensors under its names, attention as 1x1 convs). The
names are written from both codebases' module trees, on their own here: the loader
(families/emu3/official.py) is not used to write its own input.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass, replace

import torch

from tiny_models.random_weights import randomize

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


MERGES = [("Ġ", "a"), ("f", "o"), ("fo", "x"), ("9", "0")]  # GPT-2's byte characters
EXTRAS = 205


def byte_chars():
    """GPT-2's byte -> printable character map (what byte-level BPE vocabularies spell)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def special_names(codebook: int):
    """(Emu3's special tokens from id 256 + len(MERGES) on, in order, as BAAI's tokenizer
    numbers them, with transformers' copy's names; the vision tokens' lines)."""
    extras = [f"<|extra_{i}|>" for i in range(EXTRAS)]
    extras[0] = SPECIAL["image_token"]  # transformers' copy reuses the extra_0 slot
    vision = [SPECIAL["image_wrapper_token"], SPECIAL["boi_token"], SPECIAL["eoi_token"]] + \
        [visual_name(k) for k in range(codebook)]
    return ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *extras], vision


def make_tokenizer(codebook: int):
    """A byte-level BPE (every byte a token, id = its value, and MERGES), Emu3's special and
    visual tokens after it; no BOS added by the tokenizer (Emu3Processor writes it as text),
    wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = byte_chars()
    vocab = {chars[b]: b for b in range(256)}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    specials, vision = special_names(codebook)
    for name in specials + vision:
        vocab[name] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=MERGES))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials + vision)
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


def make_model(p: Preset, seed: int):
    """(model, tokenizer, special ids) of a preset, the weights seeded."""
    from transformers import Emu3ForConditionalGeneration
    from transformers.utils import logging

    logging.disable_progress_bar()
    tokenizer = make_tokenizer(p.codebook)
    config, ids = make_config(p, tokenizer)
    torch.manual_seed(seed)
    model = Emu3ForConditionalGeneration(config).eval()
    randomize(model, seed)
    return model, tokenizer, ids


def sized(preset: str, side: int) -> Preset:
    p = PRESETS[preset]
    if side:
        if side * (side + 1) + 64 > p.context:
            raise SystemExit(f"--side {side}: {side}x{side} + EOL does not fit the {preset} "
                             f"preset's context {p.context}; take a smaller side")
        p = replace(p, side=side, image_area=True)
    return p


def write_model(out: str, preset: str = "test", seed: int = 0, side: int = 0):
    from transformers import GenerationConfig

    p = sized(preset, side)
    model, tokenizer, ids = make_model(p, seed)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token"], eos_token_id=ids["eos_token"],
        pad_token_id=ids["pad_token"])
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_processor_files(out, p)


# transformers' Emu3VQVAE names -> BAAI's Emu3VisionVQModel names (after the model.vqmodel.
# prefix), applied in order.
VISION_NAMES = ((r"\bmiddle_block\.", "mid."), (r"\bdown_block\.down\.", "down."),
                (r"\bup_block\.up\.", "up."), (r"\bmid\.attn_norm\.", "mid.attn_1.norm."),
                (r"\battn_norms\.(\d+)\.", r"attn.\1.norm."), (r"\.q_proj\.", ".q."),
                (r"\.k_proj\.", ".k."), (r"\.v_proj\.", ".v."), (r"\.out_proj\.", ".proj_out."))
REMOTE_CODE = ("configuration_emu3.py", "modeling_emu3.py", "tokenization_emu3.py",
               "processing_emu3.py", "utils_emu3.py")


def save_shards(out: str, state: dict, shards: int = 2):
    """state as `shards` safetensors files and model.safetensors.index.json."""
    from safetensors.torch import save_file

    keys = sorted(state)
    weight_map = {}
    size = -(-len(keys) // shards)
    for i in range(shards):
        part = keys[i * size:(i + 1) * size]
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        save_file({k: state[k].contiguous() for k in part}, os.path.join(out, name),
                  metadata={"format": "pt"})
        weight_map.update({k: name for k in part})
    total = sum(t.numel() * t.element_size() for t in state.values())
    write_json(os.path.join(out, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def write_json(path: str, content):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(content, f, indent=2, ensure_ascii=False)


def write_official(out: str, preset: str = "test", seed: int = 0, side: int = 0):
    """The model of `preset` as BAAI releases Emu3-Gen (see the module's doc)."""
    import base64
    import re

    from safetensors.torch import save_file

    p = sized(preset, side)
    model, tokenizer, ids = make_model(p, seed)
    os.makedirs(out, exist_ok=True)
    llm, vq = {}, {}
    for name, tensor in model.state_dict().items():
        if name.startswith("model.text_model."):
            llm["model." + name[len("model.text_model."):]] = tensor
        elif name == "lm_head.weight":
            llm[name] = tensor
        elif name.startswith("model.vqmodel."):
            key = name[len("model.vqmodel."):]
            for pattern, replacement in VISION_NAMES:
                key = re.sub(pattern, replacement, key)
            if re.search(r"\.(q|k|v|proj_out)\.weight$", key) and tensor.dim() == 2:
                tensor = tensor[:, :, None, None]  # BAAI's attention: 1x1 convs
            vq[key] = tensor
    save_shards(out, llm)
    text = model.config.text_config
    vocab = tokenizer.get_vocab()
    write_json(os.path.join(out, "config.json"), {
        "architectures": ["Emu3ForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_emu3.Emu3Config",
                     "AutoModelForCausalLM": "modeling_emu3.Emu3ForCausalLM"},
        "model_type": "Emu3", "vocab_size": text.vocab_size, "hidden_size": text.hidden_size,
        "intermediate_size": text.intermediate_size,
        "num_hidden_layers": text.num_hidden_layers,
        "num_attention_heads": text.num_attention_heads,
        "num_key_value_heads": text.num_key_value_heads, "hidden_act": "silu",
        "max_position_embeddings": text.max_position_embeddings,
        "rms_norm_eps": text.rms_norm_eps, "rope_theta": text.rope_parameters["rope_theta"],
        "rope_scaling": None, "attention_dropout": 0.1, "initializer_range": 0.02,
        "pretraining_tp": 1, "tie_word_embeddings": False, "use_cache": True,
        "image_area": (8 * p.side) ** 2,
        "pad_token_id": vocab["<|endoftext|>"], "bos_token_id": vocab["<|extra_203|>"],
        "eos_token_id": vocab["<|extra_204|>"], "img_token_id": vocab["<|image token|>"],
        "boi_token_id": vocab["<|image start|>"], "eoi_token_id": vocab["<|image end|>"],
        "eol_token_id": vocab[EOL], "eof_token_id": vocab["<|extra_201|>"],
        "torch_dtype": "float32", "transformers_version": "4.44.0"})
    # The tokenizer: the byte ranks and merges as tiktoken lines, the vision tokens' names.
    chars = {c: b for b, c in byte_chars().items()}
    specials, vision = special_names(p.codebook)
    with open(os.path.join(out, "emu3.tiktoken"), "w", encoding="ascii") as f:
        for token, rank in sorted(vocab.items(), key=lambda kv: kv[1]):
            if rank >= 256 + len(MERGES):
                break
            raw = bytes(chars[c] for c in token)
            f.write(f"{base64.b64encode(raw).decode()} {rank}\n")
    with open(os.path.join(out, "emu3_vision_tokens.txt"), "w", encoding="utf-8") as f:
        f.write("".join(f"{name}\n" for name in vision))
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "added_tokens_decoder": {}, "auto_map": {"AutoTokenizer": ["tokenization_emu3.Emu3Tokenizer",
                                                                   None]},
        "bos_token": "<|extra_203|>", "eos_token": "<|extra_204|>", "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": True, "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "Emu3Tokenizer"})
    write_json(os.path.join(out, "special_tokens_map.json"), {
        "bos_token": "<|extra_203|>", "eos_token": "<|extra_204|>", "pad_token": "<|endoftext|>"})
    write_json(os.path.join(out, "generation_config.json"), {
        "_from_model_config": True, "bos_token_id": vocab["<|extra_203|>"],
        "eos_token_id": vocab["<|extra_204|>"], "pad_token_id": vocab["<|endoftext|>"]})
    for name in REMOTE_CODE:  # never to be run: if anything imports one, it leaves a mark
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write("import os\nopen(os.path.join(os.path.dirname(__file__), "
                    "'REMOTE_CODE_RAN'), 'w').close()\n")
    # The vision tokenizer, as BAAI/Emu3-VisionTokenizer.
    vision_dir = os.path.join(out, "vision_tokenizer")
    os.makedirs(vision_dir, exist_ok=True)
    c = model.config.vq_config
    save_file({k: v.contiguous() for k, v in vq.items()},
              os.path.join(vision_dir, "model.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(vision_dir, "config.json"), {
        "architectures": ["Emu3VisionVQModel"],
        "auto_map": {"AutoConfig": "configuration_emu3visionvq.Emu3VisionVQConfig",
                     "AutoModel": "modeling_emu3visionvq.Emu3VisionVQModel"},
        "model_type": "Emu3VisionVQ", "codebook_size": c.codebook_size,
        "embed_dim": c.embed_dim, "z_channels": c.latent_channels, "double_z": False,
        "ch": c.base_channels, "ch_mult": list(c.channel_multiplier),
        "num_res_blocks": c.num_res_blocks, "attn_resolutions": list(c.attn_resolutions),
        "temporal_downsample_factor": c.temporal_downsample_factor, "dropout": 0.0,
        "in_channels": 3, "out_channels": 3, "torch_dtype": "float32"})
    write_json(os.path.join(vision_dir, "preprocessor_config.json"), {
        "image_processor_type": "Emu3VisionVQImageProcessor", "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "min_pixels": 64,
        "max_pixels": (8 * p.side) ** 2, "resample": 3, "rescale_factor": 1 / 255,
        "spatial_factor": 8})


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
    parser = argparse.ArgumentParser(prog="python -m tiny_models.emu3")
    parser.add_argument("out")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--side", type=int, default=0)
    parser.add_argument("--broken", choices=BROKEN)
    parser.add_argument("--layout", choices=["transformers", "official"], default="transformers")
    args = parser.parse_args(argv)
    if args.broken:
        write_broken(args.out, args.broken)
    elif args.layout == "official":
        write_official(args.out, args.preset, args.seed, args.side)
    else:
        write_model(args.out, args.preset, args.seed, args.side)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
