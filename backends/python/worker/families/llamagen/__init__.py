"""The LlamaGen c2i family (docs/llamagen.md): the GPT from a zipar model directory (config.json +
model.safetensors) or an official .pt in any of its four layouts, and its VQ-16 decoder.

The model directory's own decoder, `decoder(options)`, is a VQ directory lying beside the GPT
(DIR/vq.json + DIR/vq.safetensors). A config.json `decoder` of kind patch-codebook (the demo
model) is decoded on the host by backends/decoders/patch_codebook.ts, not here.
"""

import os
from typing import Dict, List, Tuple

import torch

from checkpoint import load_safetensors_checked, model_files, read_json, select_checked
from devices import probe
from errors import CheckpointError, OptionError
from families.family import LoadOptions, decoder_absent, decoder_found, require_decoder
from protocol import log
from pt_file import read_pt_args

from .config import ModelConfig, config_from_json, expected_shapes, infer_config, \
    is_llamagen_config
from .gpt import LlamaGenGPT, LlamaGenSession
from .vq import VqDecoder, load_vq

NAME = "llamagen"
load_decoder = load_vq


def accepts(path: str, config) -> bool:
    """A zipar-llamagen directory, or any file that is not a directory (a .pt checkpoint)."""
    return is_llamagen_config(config) if config is not None else not os.path.isdir(path)


def load_directory(path: str) -> Tuple[ModelConfig, Dict[str, torch.Tensor]]:
    config_path, weights_path = model_files(path, "config.json", "model.safetensors")
    cfg = config_from_json(read_json(config_path), config_path)
    return cfg, load_safetensors_checked(weights_path, expected_shapes(cfg))


def load_pt(path: str, preset=None, heads=None, grid=None, weights="model", num_classes=None,
            note=log):
    """A .pt under model / module / state_dict or at top level (`weights="ema"`: a training
    checkpoint's EMA weights); the config from its shapes and training args. `note` gets the
    one line that says where num_classes came from."""
    state, args = read_pt_args(path, weights)
    cfg, said = infer_config({k: list(v.shape) for k, v in state.items()}, path, preset, heads,
                             grid, num_classes, args)
    note(said)
    weights = select_checked(state, expected_shapes(cfg), path)
    dtypes = {v.dtype for v in weights.values()}
    cfg.dtype = "float32" if torch.float32 in dtypes or not dtypes else str(dtypes.pop())[6:]
    return cfg, weights


def load_weights(path: str, options: LoadOptions) -> Tuple[ModelConfig, Dict[str, torch.Tensor]]:
    """-> (ModelConfig, {key: tensor}) from a directory or a .pt file."""
    if not os.path.isdir(path) and not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file or directory")
    if os.path.isdir(path) or path.endswith(".safetensors"):
        options.refuse_size(path, "the grid of its config.json")
        return load_directory(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    return load_pt(path, options.preset, options.heads, pt_grid(options),
                   options.weights or "model", options.num_classes)


def pt_grid(options: LoadOptions):
    """The grid a .pt is asked for: --grid, or --size in px (VQ-16: 16 px a token), or None."""
    if options.size is None:
        return options.grid
    if options.size % 16:
        raise OptionError(f"size {options.size} px: LlamaGen's tokens are 16 px, so a size "
                          f"is a multiple of 16 (256 px: 16x16, 384 px: 24x24, 512 px: 32x32)")
    return f"{options.size // 16}x{options.size // 16}"


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    """Validate a checkpoint without keeping it: its config and sum |w| (tests)."""
    cfg, weights = load_weights(path, options)
    return cfg.to_json(), float(sum(t.double().abs().sum().item() for t in weights.values()))


class LlamaGen:
    """The family object of one loaded GPT."""

    def __init__(self, path: str, cfg: ModelConfig, model: LlamaGenGPT):
        self.path, self.cfg, self.model = path, cfg, model
        self.steps = model.steps  # its caches and step graphs (step_graphs.ModelSteps)
        self.device, self.dtype = model.device, model.dtype
        self.config = cfg.to_json()
        self.info = {"name": cfg.preset or NAME, "family": NAME, "vocab": cfg.vocab,
                     "height": cfg.height, "width": cfg.width, "prefix": cfg.prefix,
                     "eolToken": None, "numClasses": cfg.num_classes,
                     "conditioning": "class"}

    def conditions_for(self, images: List[dict], cfg_scale: float) -> List[int]:
        """Images' classes, then (CFG) the null class once per image."""
        conditions = [int(im["condition"]) for im in images]
        if cfg_scale != 1:
            self.check_null_class()
        return conditions + [self.cfg.num_classes] * len(images) if cfg_scale != 1 \
            else conditions

    def open(self, sequences: List) -> LlamaGenSession:
        """sequences: {condition, unconditional} per sequence (docs/conditions.md), or class ids."""
        return LlamaGenSession(self.model, [self.class_of(s) for s in sequences])

    def class_of(self, sequence) -> int:
        """A sequence's class: the image's, or the null class for an unconditional one."""
        if not isinstance(sequence, dict):
            return sequence
        condition = sequence.get("condition")
        if isinstance(condition, bool) or not isinstance(condition, int):
            raise ValueError(f"LlamaGen conditions on class ids, not {type(condition).__name__}s "
                             f"(a prompt needs a text-to-image model)")
        if sequence.get("unconditional"):
            self.check_null_class()
            return self.cfg.num_classes
        return condition

    def check_null_class(self):
        """CFG's unconditional half needs the null class's row in the class table."""
        if not self.cfg.null_class:
            raise ValueError(f"{self.path}: the model has no null-class row (trained without "
                             f"class dropout), so it cannot do CFG: pass --cfg 1")

    def decoder_status(self) -> dict:
        """The VQ directory beside the GPT (DIR/vq.json + DIR/vq.safetensors), or the host
        decoder its config.json names (the demo's patch codebook)."""
        if not os.path.isdir(self.path):
            return decoder_absent(f"{self.path}: a .pt checkpoint holds no image decoder; pass "
                                  f"a VQ decoder (--vq PATH)")
        if os.path.isfile(os.path.join(self.path, "vq.json")):
            return decoder_found("LlamaGen VQ-16")
        own = read_json(os.path.join(self.path, "config.json")).get("decoder")
        if isinstance(own, dict) and own.get("kind") == "patch-codebook":
            return decoder_found("patch-codebook", where="host")
        return decoder_absent(f"{self.path}: the model has no decoder of its own (no vq.json + "
                              f"vq.safetensors beside config.json); pass a VQ decoder (--vq PATH)")

    def decoder(self, options: LoadOptions) -> VqDecoder:
        require_decoder(self.decoder_status())
        return load_vq(self.path, options.device, options.dtype)


def load(path: str, options: LoadOptions) -> LlamaGen:
    cfg, weights = load_weights(path, options)
    probe(options.device, options.dtype, "matmuls")
    return LlamaGen(path, cfg, LlamaGenGPT(cfg, weights, options.device, options.dtype))
