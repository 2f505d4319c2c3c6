"""What an Emu3-Gen directory holds, read without loading its weights (`zipar inspect --model`):
its layout, grid, vocabularies, weights (files, size, dtype), tokenizer and decoder."""

import os

from checkpoint import read_json
from hf_files import TOKENIZER_FILES
from weight_files import WeightFiles, summary

from . import official
from .official_tokenizer import RANKS_FILE, VISION_FILE
from .prompts import grid_of

SOURCES = {"official": "BAAI/Emu3-Gen with BAAI/Emu3-VisionTokenizer",
           "transformers": "BAAI/Emu3-Gen-hf: transformers' conversion"}
VISUAL = "<|visual token "


def describe(path: str, layout: str, options) -> dict:
    config = read_json(os.path.join(path, "config.json"))
    weights = WeightFiles(path, what="Emu3-Gen")
    shapes = weights.shapes()
    if layout == "official":
        grid = grid_of(path, options.grid, options.size, config.get("image_area", 518400))
        tokenizer = [n for n in (RANKS_FILE, VISION_FILE) if os.path.isfile(os.path.join(path, n))]
        vocab = None
        vision_file = os.path.join(path, VISION_FILE)
        if os.path.isfile(vision_file):
            with open(vision_file, encoding="utf-8", errors="replace") as f:
                vocab = sum(1 for line in f if line.startswith(VISUAL))
        vision = official.vision_dir(path, options.vision_tokenizer)
        decoder = {"found": vision is not None, "where": vision} if vision else {
            "found": False, "fix": f"download BAAI/Emu3-VisionTokenizer into "
                                   f"{os.path.join(path, 'vision_tokenizer')} (or beside the "
                                   f"model as Emu3-VisionTokenizer, or pass --vision-tokenizer)"}
        text_vocab, layers, hidden, context = (config.get("vocab_size"),
                                               config.get("num_hidden_layers"),
                                               config.get("hidden_size"),
                                               config.get("max_position_embeddings"))
        tokenizer_fix = f"copy {RANKS_FILE} and {VISION_FILE} of BAAI/Emu3-Gen into the directory"
    else:
        from transformers import Emu3Config
        emu3 = Emu3Config.from_pretrained(path, local_files_only=True)
        grid = grid_of(path, options.grid, options.size)
        tokenizer = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(path, n))]
        vocab = sum(1 for name in (emu3.vocabulary_map or {}) if name.startswith(VISUAL))
        found = any(k.startswith(("model.vqmodel.decoder.", "vqmodel.decoder.")) for k in shapes)
        decoder = {"found": True, "where": "the model's VQ-VAE (in its weights)"} if found else {
            "found": False, "fix": "the converted safetensors hold the VQ-VAE (model.vqmodel): "
                                   "download the whole model directory again"}
        t = emu3.text_config
        text_vocab, layers, hidden, context = (t.vocab_size, t.num_hidden_layers, t.hidden_size,
                                               t.max_position_embeddings)
        tokenizer_fix = "copy the tokenizer files of BAAI/Emu3-Gen-hf into the directory"
    return {
        "family": "emu3", "layout": layout, "download": SOURCES[layout], "prefix": 1,
        "modelType": config.get("model_type"), "grid": list(grid), "eol": True, "vocab": vocab,
        "textVocab": text_vocab, "layers": layers, "hidden": hidden, "context": context,
        "weights": summary(weights),
        "tokenizer": {"found": bool(tokenizer), "files": tokenizer,
                      **({} if tokenizer else {"fix": tokenizer_fix})},
        "decoder": decoder,
    }
