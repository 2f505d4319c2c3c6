"""Model families, one module each (families/<name>/) behind the interface of family.py, and
the registry that picks the family of a model path from its directory's config.json.

LlamaGen is the default: a .pt file, a directory without config.json and a config of no known
family go to it, so its loader names what is missing. A Hugging Face directory (config.json
with `model_type`) goes to the family that accepts it; the t2i families register here. A .pt
whose state dict holds a caption embedder is LlamaGen's text-to-image GPT (llamagen_t2i).
"""

import importlib
import os
from types import ModuleType
from typing import Tuple

from checkpoint import read_json
from errors import CheckpointError, OptionError
from families.family import LoadOptions, check_family, check_module

# Module names under families/, asked in order. llamagen_t2i comes before llamagen: both read
# .pt files, t2i only those with a caption embedder. lumina2 comes before lumina: both are
# Chameleon configs, and 2.0 is the one whose vocabulary holds its image ids.
FAMILIES = ("llamagen_t2i", "llamagen", "janus", "emu3", "lumina2", "lumina")
DEFAULT = "llamagen"


def module(name: str) -> ModuleType:
    """The family module `name`, checked against family.py's interface."""
    mod = importlib.import_module(f"families.{name}")
    check_module(mod)
    return mod


def family_of(path: str) -> ModuleType:
    config_path = os.path.join(path, "config.json")
    config = read_json(config_path) if os.path.isfile(config_path) else None
    for name in FAMILIES:
        if module(name).accepts(path, config):
            return module(name)
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type is not None:
        raise CheckpointError(f"{config_path}: model_type {model_type!r} is no family this worker "
                              f"runs (known: {', '.join(FAMILIES)})")
    return module(DEFAULT)


def load_family(path: str, options: LoadOptions):
    """The Family of the model at path (family.py's interface)."""
    family = family_of(path)
    if options.vision_tokenizer and family.__name__ != "families.emu3":
        raise OptionError(f"{path}: --vision-tokenizer is for BAAI's official Emu3-Gen, not a "
                          f"{family.__name__.split('.')[-1]} model: drop the flag")
    if options.text_encoder and family.__name__ != "families.llamagen_t2i":
        raise OptionError(f"{path}: --text-encoder is for a LlamaGen text-to-image checkpoint, "
                          f"not a {family.__name__.split('.')[-1]} model: drop the flag")
    return check_family(family.load(path, options), family.__name__.split(".")[-1])


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    return family_of(path).inspect(path, options)


def load_decoder(source: dict, family, options: LoadOptions):
    """A Decoder from a source: {"vq": path} (LlamaGen VQ-16, a directory or .pt) or
    {"model": true} (the loaded model's own decoder)."""
    if not isinstance(source, dict):
        raise ValueError(f"a decoder source is {{vq: PATH}} or {{model: true}}, got {source!r}")
    if source.get("vq"):
        return module("llamagen").load_decoder(str(source["vq"]), options.device, options.dtype)
    if source.get("model") is True:
        if family is None:
            raise ValueError("the worker has no model loaded, so it has no model decoder; "
                             "name a VQ decoder (vq) instead")
        return family.decoder(options)
    raise ValueError(f"a decoder source is {{vq: PATH}} or {{model: true}}, got {source!r}")

