"""The LlamaGen text-to-image family (docs/llamagen.md, "Text-to-image"): an official t2i GPT
checkpoint (t2i_XL_stage1_256.pt: 16x16, t2i_XL_stage2_512.pt: 32x32; a .pt whose keys hold the
caption embedder `cls_embedding.cap_proj`), read with torch.load(weights_only=True) in any of
LlamaGen's four layouts, and its FLAN-T5 text encoder (text_encoder.py: `--text-encoder DIR`,
else t5/, flan-t5-xl/ or t5-ckpt/flan-t5-xl/ beside the checkpoint).

ModelInfo: the grid of --grid / --size, else the training args, else the file name; vocab = the
VQ codebook (16384), no EOL, one prefix slot (the caption block, gpt.py), numClasses 0,
conditioning "text", defaults CFG 7.5 and top-k 1000 (LlamaGen's sample_t2i.py). Images decode
with a VQ-16 decoder (--vq vq_ds16_t2i.pt): a .pt holds none.
"""

import os
from typing import Dict, List, Tuple

import torch

from checkpoint import select_checked
from contract import family_defaults
from devices import probe
from errors import CheckpointError, OptionError
from families.family import LoadOptions, decoder_absent, require_decoder
from families.llamagen import load_vq, pt_grid
from prompt_session import sequences_for, unpack
from pt_file import is_safetensors, load_checkpoint, read_pt_args, state_dict

from .config import T2IConfig, infer_t2i_config, is_t2i_state, t2i_shapes, text_encoder_dirs
from .gpt import CaptionGPT, CaptionSession
from .text_encoder import TextEncoder, find_dir

NAME = "llamagen-t2i"  # ModelInfo.family, core/contract.json's key
load_decoder = load_vq


def accepts(path: str, config) -> bool:
    """A checkpoint file (not a directory, not safetensors) whose state dict has the caption
    embedder; an unreadable file is left to LlamaGen c2i's loader, which says what is wrong."""
    if config is not None or not os.path.isfile(path) or is_safetensors(path, b""):
        return False
    try:
        return is_t2i_state(state_dict(load_checkpoint(path), path))
    except CheckpointError:
        return False


def load_weights(path: str, options: LoadOptions) -> Tuple[T2IConfig, Dict[str, torch.Tensor]]:
    """-> (T2IConfig, {key: tensor}) of a t2i .pt, every tensor checked against its shape."""
    if options.num_classes is not None:
        raise OptionError(f"{path}: a LlamaGen text-to-image model has no classes; drop "
                          f"--num-classes")
    state, args = read_pt_args(path, options.weights or "model")
    shapes = {k: list(v.shape) for k, v in state.items()}
    cfg = infer_t2i_config(shapes, path, options.preset, options.heads, pt_grid(options), args)
    weights = select_checked(state, t2i_shapes(cfg), path)
    dtypes = {v.dtype for v in weights.values()}
    cfg.dtype = "float32" if torch.float32 in dtypes or not dtypes else str(dtypes.pop())[6:]
    return cfg, weights


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    """Validate a checkpoint without keeping it: its config and sum |w| (tests)."""
    cfg, weights = load_weights(path, options)
    return cfg.to_json(), float(sum(t.double().abs().sum().item() for t in weights.values()))


class LlamaGenT2I:
    """The family object of one loaded t2i GPT and its text encoder."""

    def __init__(self, path: str, cfg: T2IConfig, model: CaptionGPT, encoder: TextEncoder):
        self.path, self.cfg, self.model, self.encoder = path, cfg, model, encoder
        self.steps = model.steps
        self.device, self.dtype = model.device, model.dtype
        self.num_slots = cfg.num_slots  # the caption block's slot, then H*W image slots
        self.config = {**cfg.to_json(), "textEncoder": encoder.path}
        self.info = {"name": cfg.preset or NAME, "family": NAME, "vocab": cfg.vocab,
                     "height": cfg.height, "width": cfg.width, "prefix": 1, "eolToken": None,
                     "numClasses": 0, "conditioning": "text",
                     "defaults": family_defaults(NAME)}  # sample_t2i.py: CFG 7.5, top-k 1000

    def conditions_for(self, images: List[dict], cfg_scale: float) -> List[dict]:
        return sequences_for(images, cfg_scale)

    def open(self, sequences: List) -> CaptionSession:
        """Each sequence's caption: its prompt's T5 features; an unconditional one the null
        caption under its prompt's mask (LlamaGen's loop), or its negative prompt's features
        (zipar's extension: LlamaGen has no negative prompt)."""
        if not sequences:
            raise ValueError("a session needs at least one sequence")
        encoded: Dict[str, torch.Tensor] = {}

        def features(text: str) -> torch.Tensor:  # [V, caption_dim]
            if text not in encoded:
                encoded[text] = self.encoder.encode(text)
            return encoded[text]
        captions, lengths = [], []
        for sequence in sequences:
            condition, unconditional = unpack(sequence)
            prompt, negative = prompt_of(condition)
            rows = features(negative if unconditional and negative is not None else prompt)
            null = unconditional and negative is None
            captions.append(None if null else rows)
            lengths.append(int(rows.shape[0]))
        return CaptionSession(self, sequences, captions, lengths)

    def decoder_status(self) -> dict:
        return decoder_absent(f"{self.path}: a .pt checkpoint holds no image decoder; pass "
                              f"LlamaGen's VQ-16 decoder (--vq vq_ds16_t2i.pt)")

    def decoder(self, options: LoadOptions):
        require_decoder(self.decoder_status())


def prompt_of(condition) -> Tuple[str, object]:
    """{prompt, negativePrompt?} -> (prompt, negative or None), both strings."""
    if not isinstance(condition, dict) or not isinstance(condition.get("prompt"), str):
        raise ValueError(f"LlamaGen t2i conditions on a text prompt ({{prompt: TEXT}}), got "
                         f"{condition!r}; pass --prompt instead of --class")
    negative = condition.get("negativePrompt")
    if negative is not None and not isinstance(negative, str):
        raise ValueError(f"a negative prompt is a string, got {type(negative).__name__}")
    return condition["prompt"], negative


def load(path: str, options: LoadOptions) -> LlamaGenT2I:
    cfg, weights = load_weights(path, options)
    t5 = find_dir(path, options.text_encoder, text_encoder_dirs(path))
    probe(options.device, options.dtype, "matmuls")
    encoder = TextEncoder(t5, cfg.caption_dim, cfg.caption_tokens, options)
    return LlamaGenT2I(path, cfg, CaptionGPT(cfg, weights, options.device, options.dtype),
                       encoder)
