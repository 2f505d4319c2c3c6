"""What a LlamaGen t2i checkpoint holds, read without building the GPT (`zipar inspect
--model`): its config from its shapes, its weights, the FLAN-T5 text encoder it needs (found
beside it or given) and the VQ-16 decoder it does not hold."""

import os

from errors import CheckpointError
from hf_files import TOKENIZER_FILES

from .config import text_encoder_dirs
from .text_encoder import check_dir, find_dir


def describe(path: str, layout: str, options) -> dict:
    from . import load_weights  # the .pt is read whole (memory-mapped) to learn its config

    cfg, weights = load_weights(path, options)
    parameters = sum(t.numel() for t in weights.values())
    try:
        t5 = find_dir(path, options.text_encoder, text_encoder_dirs(path))
        check_dir(t5, cfg.caption_dim)
        found = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(t5, n))]
        tokenizer = {"found": True, "files": found, "where": t5}
    except CheckpointError as err:
        tokenizer = {"found": False, "fix": str(err)}
    return {
        "family": "llamagen-t2i", "layout": layout, "prefix": 1,
        "download": "FoundationVision/LlamaGen t2i_XL_stage1_256.pt or t2i_XL_stage2_512.pt, "
                    "google/flan-t5-xl beside it as t5/; its VQ-16: vq_ds16_t2i.pt",
        "modelType": None, "grid": [cfg.height, cfg.width], "eol": False, "vocab": cfg.vocab,
        "textVocab": None, "layers": cfg.layers, "hidden": cfg.dim, "context": None,
        "numClasses": 0, "preset": cfg.preset,
        "weights": {"files": 1, "bytes": os.path.getsize(path), "parameters": parameters,
                    "dtype": cfg.dtype},
        "tokenizer": tokenizer,
        "decoder": {"found": False, "fix": "a .pt holds no decoder: decode with --vq "
                                           "vq_ds16_t2i.pt (LlamaGen's t2i VQ-16 download)"},
    }
