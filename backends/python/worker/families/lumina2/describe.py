"""What a Lumina-mGPT 2.0 directory holds, read without loading its weights (`zipar inspect
--model`): its grid, vocabularies, weights, tokenizer and MoVQGAN file."""

import os

from checkpoint import read_json
from errors import CheckpointError
from hf_files import TOKENIZER_FILES
from weight_files import WeightFiles, summary

from families.lumina.prompts import grid_of

from . import RELEASE
from .decoder import find_movqgan
from .vocab import CODEBOOK


def describe(path: str, layout: str, options) -> dict:
    config = read_json(os.path.join(path, "config.json"))
    weights = WeightFiles(path, what="Lumina-mGPT 2.0")
    tokenizer = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(path, n))]
    try:
        decoder = {"found": True, "where": find_movqgan(path)}
    except CheckpointError:
        decoder = {"found": False, "fix": "download movqgan_270M.ckpt from ai-forever/MoVQGAN "
                                          "into the directory"}
    return {
        "family": "lumina2", "layout": layout, "prefix": 1,
        "download": "Alpha-VLLM/Lumina-mGPT-2.0, with ai-forever/MoVQGAN's movqgan_270M.ckpt",
        "modelType": config.get("model_type"),
        "grid": list(grid_of(path, options.grid, options.size, RELEASE)),
        "eol": True, "vocab": CODEBOOK, "textVocab": config.get("vocab_size"),
        "layers": config.get("num_hidden_layers"), "hidden": config.get("hidden_size"),
        "context": config.get("max_position_embeddings"), "weights": summary(weights),
        "tokenizer": {"found": bool(tokenizer), "files": tokenizer,
                      **({} if tokenizer else {"fix": "copy the model's tokenizer files into the "
                                                      "directory"})},
        "decoder": decoder,
    }
