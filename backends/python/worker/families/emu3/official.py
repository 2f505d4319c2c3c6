"""Emu3-Gen as BAAI releases it (BAAI/Emu3-Gen): config.json of model_type "Emu3" with an auto_map
to remote code (never run here), the language model's safetensors shards with their index, the
tiktoken tokenizer (official_tokenizer.py), and the image tokenizer in a repository of its own
(BAAI/Emu3-VisionTokenizer: config.json of model_type "Emu3VisionVQ" and model.safetensors).
Both are loaded onto transformers' Emu3ForConditionalGeneration: the modules zipar's Emu3 family
runs for either layout.

The vision tokenizer is the directory `--vision-tokenizer DIR` names, else `vision_tokenizer/`
inside the model directory, else a sibling `Emu3-VisionTokenizer` beside it; without one the
model generates and refuses to decode in one line saying where to put it.

Key names (our own mapping, read off BAAI's and transformers' module trees):
  model.X                       -> model.text_model.X   (the language model; q/k as stored)
  lm_head.weight                -> lm_head.weight
  (vision tokenizer) quantize.*, post_quant_conv.*, decoder.*
                                -> model.vqmodel.… with .q/.k/.v/.proj_out -> q_proj/k_proj/
                                   v_proj/out_proj (1x1 convs squeezed to linear weights),
                                   mid.attn_1.norm -> mid.attn_norm, attn.N.norm -> attn_norms.N,
                                   down -> down_block.down, up -> up_block.up, mid -> middle_block
The encoder half of the vision tokenizer (encoder.*, quant_conv.*) is not read: generation never
encodes an image.
"""

import os
import re
from math import prod
from typing import Dict, List, Optional, Tuple

import torch

from checkpoint import read_json
from config_limits import check_against_weights, check_sizes, llama_parameters
from errors import CheckpointError, first_line
from hf_files import load_state_dict
from weight_files import WeightFiles

from .official_tokenizer import OfficialTokenizer

MODEL_TYPE = "Emu3"  # BAAI's (transformers' own is "emu3")
VISION_MODEL_TYPE = "Emu3VisionVQ"
VISION_DIRS = ("vision_tokenizer",)  # inside the model directory
VISION_SIBLINGS = ("Emu3-VisionTokenizer",)  # beside it
NOT_RUN = ("model.vqmodel.encoder.", "model.vqmodel.quant_conv.")
VQ_DECODER = ("model.vqmodel.decoder.", "model.vqmodel.post_quant_conv.",
              "model.vqmodel.quantize.")
VQ_RENAMES = ((r"\.q\.", ".q_proj."), (r"\.k\.", ".k_proj."), (r"\.v\.", ".v_proj."),
              (r"\.proj_out\.", ".out_proj."), (r"\bmid\.attn_1\.norm\.", "mid.attn_norm."),
              (r"\battn\.(\d+)\.norm\.", r"attn_norms.\1."), (r"\bdown\.", "down_block.down."),
              (r"\bup\.", "up_block.up."), (r"\bmid\.", "middle_block."))
# Config ids that must name the tokenizer's tokens.
TOKEN_IDS = {"pad_token_id": "pad", "bos_token_id": "bos", "eos_token_id": "eos",
             "img_token_id": "image_wrapper", "boi_token_id": "boi", "eoi_token_id": "eoi",
             "eof_token_id": "eof"}


def accepts(config) -> bool:
    return isinstance(config, dict) and config.get("model_type") == MODEL_TYPE


def vision_dir(path: str, given: Optional[str]) -> Optional[str]:
    """The vision tokenizer's directory: the one given, else inside, else beside; None when
    there is none (given and missing is an error)."""
    if given:
        if not os.path.isfile(os.path.join(given, "config.json")):
            raise CheckpointError(f"{given}: no config.json; --vision-tokenizer names a "
                                  f"directory of BAAI/Emu3-VisionTokenizer")
        return given
    parent = os.path.dirname(os.path.normpath(path))
    for candidate in [os.path.join(path, d) for d in VISION_DIRS] + \
            [os.path.join(parent, d) for d in VISION_SIBLINGS]:
        if os.path.isfile(os.path.join(candidate, "config.json")):
            return candidate
    return None


def rename_vq(key: str) -> Optional[str]:
    """A vision-tokenizer tensor name -> its name in Emu3ForConditionalGeneration; None for the
    encoder half (never run)."""
    if key.startswith(("encoder.", "quant_conv.")):
        return None
    for pattern, replacement in VQ_RENAMES:
        key = re.sub(pattern, replacement, key)
    return "model.vqmodel." + key


def text_config(config: dict, shapes, path: str):
    """Emu3TextConfig from BAAI's config.json, its sizes checked against the weights."""
    from transformers import Emu3TextConfig

    vocab, hidden = shapes_of(shapes, "model.embed_tokens.weight", path)
    layers = 1 + max((int(m[1]) for k in shapes for m in [re.match(r"model\.layers\.(\d+)\.", k)]
                      if m), default=-1)
    for name, value in (("vocab_size", vocab), ("hidden_size", hidden),
                        ("num_hidden_layers", layers)):
        if config.get(name) != value:
            raise CheckpointError(f"{path}: config.json says {name} {config.get(name)!r}, but "
                                  f"the weights hold {value}; the files are of two models")
    rope = {"rope_type": "default", "rope_theta": float(config.get("rope_theta", 1e6))}
    if config.get("rope_scaling"):
        raise CheckpointError(f"{path}: config.json has rope_scaling "
                              f"{config['rope_scaling']!r}; Emu3-Gen has none")
    fields = ("intermediate_size", "num_attention_heads", "num_key_value_heads", "hidden_act",
              "max_position_embeddings", "rms_norm_eps", "pad_token_id", "bos_token_id",
              "eos_token_id", "attention_dropout", "tie_word_embeddings")
    try:
        return Emu3TextConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                              rope_parameters=rope,
                              **{k: config[k] for k in fields if k in config})
    except Exception as err:  # noqa: BLE001 - a config transformers refuses is one line
        raise CheckpointError(f"{path}: config.json is no Emu3 config ({first_line(err)})") \
            from None


def shapes_of(shapes, key: str, path: str) -> List[int]:
    if key not in shapes:
        raise CheckpointError(f"{path}: the weights lack {key}; download the model's "
                              f"safetensors files again")
    return shapes[key][1]


def vq_config(vision: str):
    """Emu3VQVAEConfig from BAAI/Emu3-VisionTokenizer's config.json."""
    from transformers import Emu3VQVAEConfig

    config = read_json(os.path.join(vision, "config.json"))
    if isinstance(config, dict):
        check_sizes(config, os.path.join(vision, "config.json"))
    if not isinstance(config, dict) or config.get("model_type") != VISION_MODEL_TYPE:
        raise CheckpointError(f"{vision}/config.json: model_type "
                              f"{(config or {}).get('model_type')!r}, not {VISION_MODEL_TYPE!r}; "
                              f"give the directory of BAAI/Emu3-VisionTokenizer")
    try:
        mult = [int(m) for m in config["ch_mult"]]
        return Emu3VQVAEConfig(
            codebook_size=int(config["codebook_size"]), embed_dim=int(config["embed_dim"]),
            latent_channels=int(config["z_channels"]),
            double_latent=bool(config.get("double_z", False)),
            in_channels=int(config.get("in_channels", 3)),
            out_channels=int(config.get("out_channels", 3)),
            temporal_downsample_factor=int(config.get("temporal_downsample_factor", 4)),
            base_channels=int(config["ch"]), channel_multiplier=mult,
            num_res_blocks=int(config["num_res_blocks"]),
            attn_resolutions=[int(a) for a in config.get("attn_resolutions", [])],
            hidden_size=int(config["ch"]) * mult[-1], num_attention_heads=1)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise CheckpointError(f"{vision}/config.json: not an Emu3 vision tokenizer's config "
                              f"({first_line(err)}); give the directory of "
                              f"BAAI/Emu3-VisionTokenizer") from None


def check_token_ids(config: dict, tokenizer: OfficialTokenizer, path: str):
    if config.get("vocab_size") != tokenizer.vocab_size:
        raise CheckpointError(f"{path}: config.json's vocab_size {config.get('vocab_size')!r} "
                              f"is not the tokenizer's {tokenizer.vocab_size}; download the "
                              f"model's tokenizer files again")
    for field, name in TOKEN_IDS.items():
        want = getattr(tokenizer, f"{name}_token_id")
        if field in config and config[field] != want:
            raise CheckpointError(f"{path}: config.json's {field} {config[field]!r} is not the "
                                  f"tokenizer's {want}; download the model's files again")


def load_state(path: str, llm: WeightFiles, vision: Optional[str], dtype
               ) -> Dict[str, torch.Tensor]:
    """The state dict of the language model and (when found) the vision tokenizer's decoder,
    under transformers' names and in `dtype` as each tensor is read."""
    state = {}
    for key in llm.file_of:
        if key.startswith("model."):
            name = "model.text_model." + key[len("model."):]
        elif key == "lm_head.weight":
            name = key
        else:
            continue  # not a tensor of Emu3-Gen's language model: reported by from_pretrained
        state[name] = llm.load([key])[key].to(dtype)
    if vision:
        vq = WeightFiles(vision, what="vision tokenizer")
        for key in vq.file_of:
            name = rename_vq(key)
            if name is None:
                continue
            tensor = vq.load([key])[key]
            if name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight",
                              "out_proj.weight")) and tensor.dim() == 4:
                tensor = tensor.reshape(tensor.shape[0], tensor.shape[1])  # a 1x1 conv
            state[name] = tensor.to(dtype) if tensor.is_floating_point() else tensor
    return state


def load_model(path: str, options) -> Tuple[object, OfficialTokenizer, List[str], Optional[str]]:
    """-> (Emu3ForConditionalGeneration, the tokenizer, the VQ decoder weights it lacks, the
    vision tokenizer directory or None)."""
    from transformers import Emu3Config, Emu3ForConditionalGeneration, Emu3VQVAEConfig

    config_path = os.path.join(path, "config.json")
    config = read_json(config_path)
    check_sizes(config, config_path)  # before anything is read or built
    tokenizer = OfficialTokenizer(path)
    check_token_ids(config, tokenizer, path)
    vision = vision_dir(path, options.vision_tokenizer)
    llm = WeightFiles(path, what="Emu3-Gen")
    shapes = llm.shapes()
    check_against_weights(llama_parameters(config), sum(prod(s) for _, s in shapes.values()),
                          config_path)
    text = text_config(config, shapes, path)
    vq = vq_config(vision) if vision else Emu3VQVAEConfig()
    state = load_state(path, llm, vision, options.dtype)
    emu3 = Emu3Config(text_config=text, vq_config=vq, vocabulary_map=tokenizer.vocabulary_map())
    model, info = load_state_dict(Emu3ForConditionalGeneration, emu3, state, options,
                                  f"{path} and {vision}" if vision else path,
                                  "official Emu3-Gen")
    missing = sorted(info.get("missing_keys", []))
    needed = [k for k in missing if not k.startswith(NOT_RUN + VQ_DECODER)]
    if needed:
        raise CheckpointError(f"{path}: the weights lack {len(needed)} tensors of the language "
                              f"model (first: {needed[0]}); download the model's safetensors "
                              f"files again")
    decoder_missing = [k for k in missing if k.startswith(VQ_DECODER)]
    if vision and decoder_missing:
        raise CheckpointError(f"{vision}: the vision tokenizer lacks {len(decoder_missing)} "
                              f"decoder tensors (first: {decoder_missing[0]}); download "
                              f"BAAI/Emu3-VisionTokenizer again")
    return model.to(options.device).eval(), tokenizer, decoder_missing, vision
