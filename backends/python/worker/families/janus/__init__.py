"""The Janus / Janus-Pro family (docs/janus.md) in both layouts its directories come in, loaded onto
transformers' JanusForConditionalGeneration, local files only:

- transformers' (model_type "janus": deepseek-community/Janus-Pro-*): config.json,
  generation_config.json, safetensors, tokenizer and processor files;
- DeepSeek's official release (model_type "multi_modality": deepseek-ai/Janus-Pro-1B, -7B,
  Janus-1.3B): official.py maps its weights onto the same modules.

ModelInfo: a square grid of num_image_tokens (24x24 for Janus-Pro), no EOL, vocab = the VQ
codebook (16384), conditioning "text", one prefix slot (the condition block, session.py),
numClasses 0. The forward runs the model's own modules over zipar's slot KV cache
(hf_decoder.py, prompt_session.py, session.py); prompts go through the model's tokenizer as each
layout's own example builds them (prompts.py); the model's VQ decoder makes the pixels
(decoder.py, 384x384 for 24x24); transformers' own image loop runs on the loaded model as the
bench's reference row (transformers_loop.py).
"""

import math
import os
from typing import List, Tuple

import torch

from devices import probe
from checkpoint import read_json
from contract import family_defaults
from config_limits import check_grid
from errors import CheckpointError
from families.family import LoadOptions, decoder_found
from hf_decoder import HFDecoder
from hf_files import load_pretrained, load_tokenizer
from prompt_session import prompt_steps, sequences_for, unpack

from . import official
from .decoder import JanusDecoder
from .prompts import official_prompt_rules, prompt_rules
from .session import JanusSession
from .transformers_loop import generate_ids

NAME = "janus"
LAYOUTS = {NAME: "transformers", official.MODEL_TYPE: "official"}


def accepts(path: str, config) -> bool:
    return isinstance(config, dict) and config.get("model_type") in LAYOUTS


def load_decoder(path: str, device, dtype):
    raise CheckpointError(f"{path}: a Janus decoder is the model's own; load the model and "
                          f"decode with it (--model DIR)")


def grid_side(config, path: str) -> int:
    tokens = int(config.vision_config.num_image_tokens)
    side = math.isqrt(tokens)
    if side * side != tokens or side != int(config.vq_config.num_patches):
        raise CheckpointError(f"{path}: num_image_tokens {tokens} is not the VQ grid "
                              f"{config.vq_config.num_patches}^2; the config is inconsistent")
    check_grid(side, side, path)
    return side


SUB_TYPES = {"text_config": ("llama",), "vision_config": ("janus_vision_model",),
             "vq_config": ("janus_vqgan",)}
NOT_RUN = ("model.vision_model.", "model.aligner.")  # the understanding branch


def load_model(path: str, options: LoadOptions):
    from transformers import JanusForConditionalGeneration
    model, missing = load_pretrained(JanusForConditionalGeneration, path, options, "Janus",
                                     missing=True, sub_types=SUB_TYPES)
    needed = [k for k in missing if not k.startswith(NOT_RUN)]
    if needed:
        raise CheckpointError(f"{path}: the safetensors lack {len(needed)} weights Janus's image "
                              f"generation runs (first: {needed[0]}); download the model's "
                              f"safetensors files again")
    return model


class Janus:
    """The family object of one loaded Janus model."""

    def __init__(self, path: str, model, rules, layout: str, options: LoadOptions):
        self.path, self.model, self.rules, self.layout = path, model, rules, layout
        self.device, self.dtype = options.device, options.dtype
        config = model.config
        self.side = grid_side(config, path)
        self.codebook = int(config.vq_config.num_embeddings)
        context = int(config.text_config.max_position_embeddings)
        self.decoder_stack = HFDecoder(model.model.language_model, config.text_config)
        head = model.model.generation_head
        # The model's image embedding (generation embeddings, then aligner) and its generation
        # head's codebook logits in float32: what prompt_steps runs around the decoder.
        self.embed_image = model.prepare_embeddings_for_image_generation
        self.image_logits = lambda hidden: head(hidden).float()  # [w, hidden] -> [w, codebook]
        self.steps = prompt_steps(self.decoder_stack, self.embed_image, self.image_logits)
        self.num_slots = 1 + self.side * self.side
        self.info = {"name": os.path.basename(os.path.normpath(path)) or NAME,
                     "family": NAME, "vocab": self.codebook, "height": self.side,
                     "width": self.side, "prefix": 1, "eolToken": None, "numClasses": 0,
                     "conditioning": "text",
                     # transformers' Janus image loop guides with scale 5 unless told.
                     "defaults": family_defaults(NAME)}
        self.config = {"family": NAME, "modelType": config.model_type, "layout": layout,
                       "layers": int(config.text_config.num_hidden_layers),
                       "hidden": int(config.text_config.hidden_size),
                       "heads": int(config.text_config.num_attention_heads),
                       "kvHeads": int(config.text_config.num_key_value_heads),
                       "context": context, "codebook": self.codebook,
                       "dtype": options.dtype_name}

    def conditions_for(self, images: List[dict], cfg_scale: float) -> List[dict]:
        return sequences_for(images, cfg_scale)

    def open(self, sequences: List) -> JanusSession:
        return JanusSession(self, sequences)

    def decoder_status(self) -> dict:
        return decoder_found("Janus VQ-16 (gen_vision_model)")  # in the model's own weights

    def decoder(self, options: LoadOptions) -> JanusDecoder:
        return JanusDecoder(self.path, self.model, self.side)

    def transformers_generate(self, images: List[dict], cfg_scale: float, sampling: dict):
        """transformers' own image loop on this model (the bench's reference row):
        -> grids [B, H, W] int32. Each image's prompt as the session tokenizes it."""
        for im in images:
            cond, _ = unpack({"condition": im["condition"]})
            if isinstance(cond, dict) and cond.get("negativePrompt") is not None:
                raise ValueError("transformers' Janus loop has no negative prompt; drop it "
                                 "for the transformers row")
        session = self.open(self.conditions_for(images, 1))
        session.close()
        return generate_ids(self.model, session.input_ids, self.rules.pad_id, cfg_scale,
                            sampling).reshape(len(images), self.side, self.side)


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    family = load(path, options)
    total = sum(p.detach().double().abs().sum().item() for p in family.model.parameters())
    return family.config, float(total)


def layout_of(path: str) -> str:
    config_path = os.path.join(path, "config.json")
    return LAYOUTS[read_json(config_path).get("model_type")]


def load(path: str, options: LoadOptions) -> Janus:
    options.refuse_size(path, "the 24x24 tokens (384 px) of its config.json")
    layout = layout_of(path)
    tokenizer = load_tokenizer(path)  # fail fast, before the weights, on a directory without one
    probe(options.device, options.dtype, "matmuls")
    if layout == "official":
        model = official.load_model(path, tokenizer, options)
        context = int(model.config.text_config.max_position_embeddings)
        side = grid_side(model.config, path)
        rules = official_prompt_rules(path, tokenizer, context, side * side)
        # What transformers' image loop reads (the bench's reference row), as its conversion of
        # the official release writes it: the special ids, CFG 5.
        from transformers import GenerationConfig
        eos = tokenizer.convert_tokens_to_ids(tokenizer.eos_token) if tokenizer.eos_token else None
        model.generation_config = GenerationConfig(
            bos_token_id=rules.bos_id, eos_token_id=eos, pad_token_id=rules.pad_id,
            guidance_scale=5, temperature=1.0, generation_kwargs={"boi_token_id": rules.boi_id})
    else:
        model = load_model(path, options)
        context = int(model.config.text_config.max_position_embeddings)
        side = grid_side(model.config, path)
        rules = prompt_rules(path, model.generation_config, context, side * side)
    return Janus(path, model, rules, layout, options)
