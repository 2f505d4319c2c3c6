"""What a Lumina-mGPT directory holds, read without loading its weights (`zipar inspect
--model`): its grid, vocabularies, weights (files, size, dtype), tokenizer and VQGAN."""

import os

from checkpoint import read_json
from errors import CheckpointError
from hf_files import TOKENIZER_FILES
from weight_files import WeightFiles, summary

from .decoder import find_files
from .prompts import grid_of


def describe(path: str, layout: str, options) -> dict:
    config = read_json(os.path.join(path, "config.json"))
    weights = WeightFiles(path, what="Lumina-mGPT")
    tokenizer = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(path, n))]
    try:
        vqgan, yaml = find_files(path)
        decoder = {"found": True, "where": vqgan if yaml else f"{vqgan} (no vqgan.yaml beside it)"}
    except CheckpointError:
        decoder = {"found": False, "fix": "copy tokenizer/vqgan.ckpt and tokenizer/vqgan.yaml of "
                                          "Meta's Chameleon release into the directory"}
    vq = config.get("vq_config") or {}
    return {
        "family": "lumina", "layout": layout, "prefix": 1,
        "download": "Alpha-VLLM/Lumina-mGPT-7B-512, -768, -1024, with Meta's Chameleon VQGAN",
        "modelType": config.get("model_type"), "grid": list(grid_of(path, options.grid,
                                                                    options.size)),
        "eol": True, "vocab": vq.get("num_embeddings"), "textVocab": config.get("vocab_size"),
        "layers": config.get("num_hidden_layers"), "hidden": config.get("hidden_size"),
        "context": config.get("max_position_embeddings"), "weights": summary(weights),
        "tokenizer": {"found": bool(tokenizer), "files": tokenizer,
                      **({} if tokenizer else {"fix": "copy the model's tokenizer files into the "
                                                      "directory"})},
        "decoder": decoder,
    }
