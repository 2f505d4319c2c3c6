"""What a Janus directory holds, read without loading its weights (`zipar inspect --model`):
its layout, grid, vocabularies, weights (files, size, dtype), tokenizer and decoder."""

import os

from checkpoint import read_json
from hf_files import TOKENIZER_FILES
from weight_files import WeightFiles, summary

from . import official

SOURCES = {"official": "deepseek-ai/Janus-Pro-1B, -7B, Janus-1.3B",
           "transformers": "deepseek-community/Janus-Pro-1B, -7B: transformers' conversion"}


def describe(path: str, layout: str, options) -> dict:
    config = read_json(os.path.join(path, "config.json"))
    weights = WeightFiles(path, what="Janus")
    shapes = weights.shapes()
    if layout == "official":
        text = official.text_config(config.get("language_config") or {}, shapes, path)
        side = official.image_side(config, path)
        head = shapes.get("gen_head.vision_head.weight")
        decoder_key = "gen_vision_model.decoder.conv_out.weight"
        decoder_fix = "the official weights hold it (gen_vision_model): download them again"
        vocab_size, hidden, layers, context = (text.vocab_size, text.hidden_size,
                                               text.num_hidden_layers,
                                               text.max_position_embeddings)
    else:
        from transformers import JanusConfig
        janus = JanusConfig.from_pretrained(path, local_files_only=True)
        side = int(janus.vq_config.num_patches)
        head = shapes.get("model.generation_head.vision_head.weight")
        decoder_key = "model.vqmodel.decoder.conv_out.weight"
        decoder_fix = "the converted model.safetensors holds it (model.vqmodel): download it again"
        t = janus.text_config
        vocab_size, hidden, layers, context = (t.vocab_size, t.hidden_size, t.num_hidden_layers,
                                               t.max_position_embeddings)
    tokenizer = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(path, n))]
    found = decoder_key in shapes
    return {
        "family": "janus", "layout": layout, "download": SOURCES[layout], "prefix": 1,
        "modelType": config.get("model_type"), "grid": [side, side], "eol": False,
        "vocab": head[1][0] if head else None, "textVocab": vocab_size, "layers": layers,
        "hidden": hidden, "context": context, "weights": summary(weights),
        "tokenizer": {"found": bool(tokenizer), "files": tokenizer,
                      **({} if tokenizer else {"fix": "copy tokenizer.json, tokenizer_config.json "
                                                      "and special_tokens_map.json of the model's "
                                                      "repository into the directory"})},
        "decoder": {"found": found, "where": "the model's VQ (in its weights)" if found else None,
                    **({} if found else {"fix": decoder_fix})},
    }
