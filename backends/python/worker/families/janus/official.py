"""Janus and Janus-Pro as DeepSeek releases them (deepseek-ai/Janus-Pro-1B, -7B, Janus-1.3B):
config.json of model_type "multi_modality" (the `janus` package's MultiModalityCausalLM), weights
as pickled `pytorch_model*.bin` (one file, or shards with their index) or `model.safetensors`,
loaded onto transformers' JanusForConditionalGeneration: the modules zipar's Janus family runs
for either layout.

The official config names the VQ model and the understanding tower only by class; their sizes
live in DeepSeek's code. So every size comes from the tensors' shapes (the language model's
width, depth, MLP and K/V heads, the VQ's channels, levels, blocks and codebook, the aligner's and
head's widths) and from the whole `language_config` (heads, rope_theta, rms_norm_eps and the rest,
LlamaConfig's defaults where it is silent), so a tiny test model and a real release load through
the same code. The image grid is the understanding tower's `image_size` over the VQ's 16-px
tokens (384 px: 24x24). Tensors generation never runs — the understanding tower and its aligner
(`vision_model.*`, `aligner.*`) and the codebook usage counter — are ignored by name; every tensor
of the parts generation runs must be there with its shape.

Key names (our own mapping, read off DeepSeek's module tree and transformers' Janus modules):
  language_model.model.X            -> model.language_model.X
  language_model.lm_head.weight     -> lm_head.weight
  gen_embed.weight                  -> model.generation_embeddings.weight
  gen_aligner.layers.0.*            -> model.generation_aligner.fc1.*
  gen_aligner.layers.{2k}.* (k>=1)  -> model.generation_aligner.hidden_layers.{k-1}.*
  gen_head.output_mlp_projector.*   -> model.generation_head.proj_out.*
  gen_head.vision_head.*            -> model.generation_head.vision_head.*
  gen_vision_model.X                -> model.vqmodel.X with conv_blocks -> up (decoder) / down
                                       (encoder), res -> block, mid.0/1/2 -> mid.block_1 /
                                       attn_1 / block_2
"""

import os
import re
from typing import Dict, List, Optional, Tuple

import torch

from checkpoint import read_json
from config_limits import check_sizes
from errors import CheckpointError, first_line
from hf_files import load_state_dict
from weight_files import WeightFiles

MODEL_TYPE = "multi_modality"
TOKEN_PX = 16  # the VQ-16 tokenizer: 16 px a token
IGNORED = ("vision_model.", "aligner.", "gen_vision_model.quantize.codebook_used")
# Parts generation does not run: their weights may be absent (left as initialised).
NOT_RUN = ("model.vision_model.", "model.aligner.", "model.vqmodel.encoder.",
           "model.vqmodel.quant_conv.")
# language_config entries that are not LlamaConfig's sizes and settings.
NOT_LLAMA = ("model_type", "architectures", "torch_dtype", "dtype", "transformers_version",
             "_name_or_path", "auto_map")

VQ_RENAMES = ((r"^decoder\.conv_blocks\.", "decoder.up."),
              (r"^encoder\.conv_blocks\.", "encoder.down."),
              (r"\.res\.", ".block."),
              (r"\.mid\.0\.", ".mid.block_1."),
              (r"\.mid\.1\.", ".mid.attn_1."),
              (r"\.mid\.2\.", ".mid.block_2."))


def rename(key: str) -> Optional[str]:
    """An official tensor name -> its name in JanusForConditionalGeneration; None = ignored."""
    if key.startswith(IGNORED):
        return None
    if key.startswith("language_model.model."):
        return "model.language_model." + key[len("language_model.model."):]
    if key == "language_model.lm_head.weight":
        return "lm_head.weight"
    if key.startswith("gen_embed."):
        return "model.generation_embeddings." + key[len("gen_embed."):]
    match = re.match(r"gen_aligner\.layers\.(\d+)\.(.+)$", key)
    if match:
        index = int(match[1])
        if index == 0:
            return f"model.generation_aligner.fc1.{match[2]}"
        if index % 2 == 0:
            return f"model.generation_aligner.hidden_layers.{index // 2 - 1}.{match[2]}"
        return key  # an odd index is an activation: it has no tensors; kept to be reported
    if key.startswith("gen_head.output_mlp_projector."):
        return "model.generation_head.proj_out." + key[len("gen_head.output_mlp_projector."):]
    if key.startswith("gen_head.vision_head."):
        return "model.generation_head.vision_head." + key[len("gen_head.vision_head."):]
    if key.startswith("gen_vision_model."):
        inner = key[len("gen_vision_model."):]
        for pattern, replacement in VQ_RENAMES:
            inner = re.sub(pattern, replacement, inner)
        return "model.vqmodel." + inner
    return key  # unknown: reported as a tensor the model does not have


def shape_of(shapes: Dict[str, Tuple[str, List[int]]], key: str, path: str) -> List[int]:
    if key not in shapes:
        raise CheckpointError(f"{path}: the weights lack {key}, which Janus's image generation "
                              f"needs; download the model's weight files again")
    return shapes[key][1]


def count(shapes, pattern: str) -> int:
    """1 + the largest index N of the keys matching `pattern` (one group: N), else 0."""
    found = [int(m[1]) for k in shapes for m in [re.match(pattern, k)] if m]
    return max(found) + 1 if found else 0


def text_config(language: dict, shapes, path: str):
    """LlamaConfig from the whole language_config, its sizes checked against (or, where it is
    silent, taken from) the tensors' shapes."""
    from transformers import LlamaConfig

    vocab, hidden = shape_of(shapes, "language_model.model.embed_tokens.weight", path)
    layers = count(shapes, r"language_model\.model\.layers\.(\d+)\.")
    intermediate = shape_of(shapes, "language_model.model.layers.0.mlp.gate_proj.weight", path)[0]
    found = {"vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": layers,
             "intermediate_size": intermediate}
    settings = {k: v for k, v in language.items() if k not in NOT_LLAMA}
    for name, value in found.items():
        stated = settings.get(name)
        if stated is not None and stated != value:
            raise CheckpointError(f"{path}: config.json language_config says {name} {stated}, "
                                  f"but the weights hold {value}; the files are of two models")
        settings[name] = value
    try:
        config = LlamaConfig(**settings)
    except Exception as err:  # noqa: BLE001 - a config transformers refuses is one line
        raise CheckpointError(f"{path}: config.json language_config is no Llama config "
                              f"({first_line(err)})") from None
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    kv_rows = shape_of(shapes, "language_model.model.layers.0.self_attn.k_proj.weight", path)[0]
    q_rows = shape_of(shapes, "language_model.model.layers.0.self_attn.q_proj.weight", path)[0]
    if q_rows != config.num_attention_heads * head_dim or kv_rows % head_dim:
        raise CheckpointError(f"{path}: config.json language_config's {config.num_attention_heads}"
                              f" heads of {head_dim} do not fit the attention weights ({q_rows} "
                              f"query and {kv_rows} key rows); the files are of two models")
    config.num_key_value_heads = kv_rows // head_dim
    return config


def vq_config(shapes, path: str) -> dict:
    """JanusVQVAEConfig's fields from the VQ's, the aligner's and the head's tensor shapes."""
    def get(key):
        return shape_of(shapes, key, path)

    codebook, embed_dim = get("gen_vision_model.quantize.embedding.weight")
    top, latent = get("gen_vision_model.decoder.conv_in.weight")[:2]
    base = get("gen_vision_model.decoder.conv_out.weight")[1]
    levels = count(shapes, r"gen_vision_model\.decoder\.conv_blocks\.(\d+)\.")
    blocks = count(shapes, r"gen_vision_model\.decoder\.conv_blocks\.0\.res\.(\d+)\.")
    if levels < 1 or blocks < 2:
        raise CheckpointError(f"{path}: the VQ decoder (gen_vision_model.decoder.conv_blocks) "
                              f"has {levels} levels of {blocks} blocks; download the weights again")
    # Decoder level i outputs base * mult[levels - 1 - i] channels.
    mult = [get(f"gen_vision_model.decoder.conv_blocks.{i}.res.0.conv2.weight")[0] // base
            for i in reversed(range(levels))]
    if top != base * mult[-1]:
        raise CheckpointError(f"{path}: the VQ decoder's conv_in gives {top} channels, its "
                              f"lowest level takes {base * mult[-1]}; download the weights again")
    if 2 ** (levels - 1) != TOKEN_PX:
        raise CheckpointError(f"{path}: the VQ decoder upsamples x{2 ** (levels - 1)}, Janus's "
                              f"is x{TOKEN_PX}; this is not a Janus VQ-16 model")
    aligner_layers = count(shapes, r"gen_aligner\.layers\.(\d+)\.")
    return {"embed_dim": embed_dim, "num_embeddings": codebook, "latent_channels": latent,
            "base_channels": base, "channel_multiplier": mult, "num_res_blocks": blocks - 1,
            "projection_dim": get("gen_aligner.layers.0.weight")[0],
            "num_hidden_layers": max(1, (aligner_layers + 1) // 2),
            "image_token_embed_dim": get("gen_head.output_mlp_projector.weight")[0]}


def image_side(config: dict, path: str) -> int:
    """The grid side: the understanding tower's image_size (the image size of both directions
    of the model, 384 px) over the VQ's 16-px tokens."""
    params = (config.get("vision_config") or {}).get("params") or {}
    size = params.get("image_size", 384)
    if isinstance(size, bool) or not isinstance(size, int) or size % TOKEN_PX or \
            not TOKEN_PX <= size <= 4096:
        raise CheckpointError(f"{path}: config.json vision_config.params.image_size is "
                              f"{size!r}, not a multiple of {TOKEN_PX} px (Janus-Pro: 384)")
    return size // TOKEN_PX


def janus_config(path: str, config: dict, weights: WeightFiles, tokenizer):
    """transformers' JanusConfig of an official directory (its understanding tower minimal:
    generation never runs it)."""
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig

    language = config.get("language_config")
    if not isinstance(language, dict):
        raise CheckpointError(f"{path}: config.json has no language_config; use the model's own "
                              f"config.json")
    shapes = weights.shapes()
    text = text_config(language, shapes, path)
    side = image_side(config, path)
    vq = JanusVQVAEConfig(**vq_config(shapes, path))
    vision = JanusVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=1,
                               image_size=side * TOKEN_PX,
                               patch_size=TOKEN_PX, num_image_tokens=side * side,
                               projection_dim=text.hidden_size, depth=1)
    vocab = tokenizer.get_vocab()
    return JanusConfig(text_config=text, vision_config=vision, vq_config=vq,
                       image_token_id=vocab.get("<image_placeholder>", 0))


def accepts(config) -> bool:
    return isinstance(config, dict) and config.get("model_type") == MODEL_TYPE


def load_model(path: str, tokenizer, options):
    """JanusForConditionalGeneration with the official weights, in the worker's dtype and
    device; a weight that generation runs and the files lack is a one-line error."""
    from transformers import JanusForConditionalGeneration

    config_path = os.path.join(path, "config.json")
    config = read_json(config_path)
    check_sizes(config, config_path)
    weights = WeightFiles(path, what="Janus")
    janus = janus_config(path, config, weights, tokenizer)
    state = {}
    unknown = []
    names = {}
    for key in weights.file_of:
        name = rename(key)
        if name is None:
            continue
        if not name.startswith(("model.", "lm_head.")):
            unknown.append(key)
            continue
        names[key] = name
    loaded = weights.load(names)
    for key, tensor in loaded.items():
        state[names[key]] = tensor
    model, info = load_state_dict(JanusForConditionalGeneration, janus, state, options, path,
                                  "official Janus")
    missing = sorted(k for k in info.get("missing_keys", []) if not k.startswith(NOT_RUN))
    if missing:
        raise CheckpointError(f"{path}: the weights lack {len(missing)} tensors Janus's image "
                              f"generation runs (first: {missing[0]}); download the model's "
                              f"weight files again")
    extra = sorted(set(unknown) | set(info.get("unexpected_keys", [])))
    if extra:
        from protocol import log
        log(f"note: ignoring {len(extra)} tensors of {path} Janus's generation does not use "
            f"(e.g. {extra[0]})")
    return model.to(options.device).eval()
