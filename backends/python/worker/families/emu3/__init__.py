"""The Emu3-Gen family (docs/emu3.md) in both layouts its directories come in, loaded onto
transformers' Emu3ForConditionalGeneration, local files only, remote code never run:

- transformers' (model_type "emu3", BAAI/Emu3-Gen-hf): config.json with its vocabulary_map,
  safetensors with the VQ-VAE folded in, tokenizer and processor files;
- BAAI's official release (model_type "Emu3", BAAI/Emu3-Gen, plus BAAI/Emu3-VisionTokenizer):
  official.py maps it onto the same modules, official_tokenizer.py reads its tiktoken files.

ModelInfo: the grid of the processor's ratio and image_area (90x90 for Emu3-Gen's defaults, or
the hello's grid), an EOL slot after every row, vocab = the visual tokens V (32768), eolToken V
(vocab.py maps engine tokens onto the model's ids), conditioning "text", one prefix slot (the
condition block: prompt + image header, prompts.py), numClasses 0, defaults CFG 3 and the model
card's negative prompt (the official layout: also top-k 2048, as BAAI's example). The forward runs
the model's own decoder layers over zipar's slot KV cache (hf_decoder.py, prompt_session.py,
session.py); logits are the visual tokens' (what transformers' prefix constraint allows in a
row); the model's VQ-VAE makes the pixels (decoder.py, 8 px per token); transformers' own
generate with that constraint and CFG runs on the loaded model as the bench's reference row
(transformers_loop.py).
"""

import os
from typing import List, Optional, Tuple

from devices import probe
from checkpoint import read_json
from errors import CheckpointError, OptionError, first_line
from families.family import LoadOptions, decoder_absent, decoder_found, require_decoder
from hf_decoder import HFDecoder
from hf_files import load_pretrained, load_tokenizer
from prompt_session import prompt_steps, sequences_for
from text_vocab_session import head_rows, text_vocab_heads

from . import official
from .decoder import Emu3Decoder
from .prompts import DEFAULT_CFG, DEFAULT_NEGATIVE_PROMPT, OFFICIAL_TOP_K, grid_of, prompt_rules
from .session import Emu3Session
from .transformers_loop import generate_ids, to_grids
from .vocab import VisualVocab

NAME = "emu3"
LAYOUTS = {NAME: "transformers", official.MODEL_TYPE: "official"}
SUB_TYPES = {"text_config": ("emu3_text_model",), "vq_config": ("emu3_vqgan",)}
DECODER_WEIGHTS = ("model.vqmodel.decoder.", "model.vqmodel.post_quant_conv.",
                   "model.vqmodel.quantize.")
ENCODER_WEIGHTS = ("model.vqmodel.encoder.", "model.vqmodel.quant_conv.")  # unused here


def accepts(path: str, config) -> bool:
    return isinstance(config, dict) and config.get("model_type") in LAYOUTS


def load_decoder(path: str, device, dtype):
    raise CheckpointError(f"{path}: an Emu3 decoder is the model's own; load the model and "
                          f"decode with it (--model DIR)")


def read_config(path: str):
    from transformers import Emu3Config
    try:
        return Emu3Config.from_pretrained(path, local_files_only=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{path}: config.json is no Emu3 config ({first_line(err)}); "
                              f"use the model's own config.json") from None


def check_missing(path: str, missing: List[str]) -> List[str]:
    """Fail on weights the generation needs; return the decoder's missing weights (decoding
    then fails in one line, generation works)."""
    needed = [k for k in missing if not k.startswith(DECODER_WEIGHTS + ENCODER_WEIGHTS)]
    if needed:
        raise CheckpointError(f"{path}: model.safetensors lacks {len(needed)} weights of the "
                              f"text model (first: {needed[0]}); download the model's "
                              f"safetensors files again")
    return [k for k in missing if k.startswith(DECODER_WEIGHTS)]


class Emu3:
    """The family object of one loaded Emu3 model."""

    def __init__(self, path: str, model, tokenizer, rules, grid: Tuple[int, int],
                 decoder_missing: List[str], layout: str, options: LoadOptions,
                 pixels_dir: Optional[str] = None):
        """pixels_dir: where preprocessor_config.json gives the image mean and std (default
        the model's directory; the official layout's vision tokenizer)."""
        self.path, self.model, self.tokenizer, self.rules = path, model, tokenizer, rules
        self.layout, self.pixels_dir = layout, pixels_dir or path
        self.device, self.dtype = options.device, options.dtype
        config = model.config
        self.height, self.width = grid
        self.vocab = VisualVocab(model.vocabulary_mapping, int(config.vq_config.codebook_size),
                                 path, options.device, int(config.text_config.vocab_size))
        self.context = int(config.text_config.max_position_embeddings)
        self.decoder_stack = HFDecoder(model.model.text_model, config.text_config)
        # The LM head's rows of the visual tokens (a view: their ids are one ascending run).
        self.image_head = head_rows(model.lm_head.weight, self.vocab.visual_ids)  # [V, hidden]
        self.embed_image, self.image_logits = text_vocab_heads(
            self.decoder_stack, self.vocab.visual_ids, self.vocab.eol_id, self.image_head)
        self.steps = prompt_steps(self.decoder_stack, self.embed_image, self.image_logits)
        self.decoder_missing = decoder_missing
        self.num_slots = 1 + self.height * (self.width + 1)  # core/layout with eol
        self.info = {"name": os.path.basename(os.path.normpath(path)) or NAME,
                     "family": NAME, "vocab": self.vocab.size, "height": self.height,
                     "width": self.width, "prefix": 1, "eolToken": self.vocab.eol_token,
                     "numClasses": 0, "conditioning": "text",
                     "defaults": {"cfg": DEFAULT_CFG, "negativePrompt": DEFAULT_NEGATIVE_PROMPT,
                                  **({"topK": OFFICIAL_TOP_K, "temperature": 1}
                                     if layout == "official" else {})}}
        text = config.text_config
        self.config = {"family": NAME, "modelType": config.model_type, "layout": layout,
                       "layers": int(text.num_hidden_layers), "hidden": int(text.hidden_size),
                       "heads": int(text.num_attention_heads),
                       "kvHeads": int(text.num_key_value_heads), "context": self.context,
                       "textVocab": int(text.vocab_size), "visualTokens": self.vocab.size,
                       "eolTokenId": self.vocab.eol_id, "imageHeader": rules.header,
                       "negativePrompt": DEFAULT_NEGATIVE_PROMPT, "dtype": options.dtype_name}

    def conditions_for(self, images: List[dict], cfg_scale: float) -> List[dict]:
        return sequences_for(images, cfg_scale)

    def open(self, sequences: List) -> Emu3Session:
        return Emu3Session(self, sequences)

    def decoder_status(self) -> dict:
        if self.decoder_missing and self.layout == "official":
            return decoder_absent(f"{self.path}: no vision tokenizer (BAAI/Emu3-VisionTokenizer) "
                                  f"to decode with; put it in {self.path}/vision_tokenizer or "
                                  f"beside the model as Emu3-VisionTokenizer, or pass "
                                  f"--vision-tokenizer DIR")
        if self.decoder_missing:
            return decoder_absent(f"{self.path}: model.safetensors has no VQ decoder weights "
                                  f"({len(self.decoder_missing)} missing, first: "
                                  f"{self.decoder_missing[0]}); Emu3-Gen ships its VQ-VAE in "
                                  f"the same files: download the whole model directory")
        return decoder_found("Emu3 VQ-VAE")

    def decoder(self, options: LoadOptions) -> Emu3Decoder:
        require_decoder(self.decoder_status())
        return Emu3Decoder(self.pixels_dir, self.model, self.height, self.width, self.context)

    def transformers_generate(self, images: List[dict], cfg_scale: float, sampling: dict):
        """transformers' own generate with Emu3's prefix constraint and CFG on this model (the
        bench's reference row) -> grids [B, H, W] int32; the prompts and negative prompts as
        the session tokenizes them."""
        b = len(images)
        session = self.open(self.conditions_for(images, cfg_scale))
        session.close()
        ids = session.input_ids
        negative = ids[b:] if cfg_scale != 1 else None
        generated = generate_ids(self.model, self.tokenizer, ids[:b], negative, self.height,
                                 self.width, cfg_scale, sampling)
        return to_grids(self.model, generated, self.height, self.width)


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    family = load(path, options)
    total = sum(p.detach().double().abs().sum().item() for p in family.model.parameters())
    return family.config, float(total)


def load(path: str, options: LoadOptions) -> Emu3:
    config_json = read_json(os.path.join(path, "config.json"))
    layout = LAYOUTS[config_json.get("model_type")]
    if layout == "official":
        grid = grid_of(path, options.grid, options.size,
                       image_area=config_json.get("image_area", 518400))
        probe(options.device, options.dtype, "matmuls")
        model, tokenizer, missing, vision = official.load_model(path, options)
        context = int(model.config.text_config.max_position_embeddings)
        rules = prompt_rules(path, tokenizer, *grid, context, official=True)
        return Emu3(path, model, tokenizer, rules, grid, missing, layout, options, vision)
    if options.vision_tokenizer:
        raise OptionError(f"{path}: --vision-tokenizer is for BAAI's official Emu3-Gen; this "
                          f"transformers-layout directory holds its VQ-VAE: drop the flag")
    grid = grid_of(path, options.grid, options.size)
    tokenizer = load_tokenizer(path)  # fail fast, before the weights
    config = read_config(path)
    rules = prompt_rules(path, tokenizer, *grid, int(config.text_config.max_position_embeddings))
    probe(options.device, options.dtype, "matmuls")
    from transformers import Emu3ForConditionalGeneration
    model, missing = load_pretrained(Emu3ForConditionalGeneration, path, options, "Emu3",
                                     missing=True, sub_types=SUB_TYPES)
    return Emu3(path, model, tokenizer, rules, grid, check_missing(path, missing), layout,
                options)
