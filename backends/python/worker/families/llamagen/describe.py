"""What a LlamaGen checkpoint holds, read without building the GPT (`zipar inspect --model`):
an official `.pt` (its config from its shapes and training args) or a zipar directory
(config.json + model.safetensors), its grid, vocabulary, weights and decoder."""

import os

from weight_files import WeightFiles, summary


def describe(path: str, layout: str, options) -> dict:
    from . import load_weights  # a .pt is read whole (memory-mapped) to learn its config

    cfg, weights = load_weights(path, options)
    parameters = sum(t.numel() for t in weights.values())
    if os.path.isdir(path):
        files = summary(WeightFiles(path, what="LlamaGen"))
        vq = os.path.isfile(os.path.join(path, "vq.json"))
        decoder = {"found": True, "where": os.path.join(path, "vq.json")} if vq else {
            "found": False, "fix": "decode with a VQ decoder: --vq vq_ds16_c2i.pt (zipar decode), "
                                   "or put vq.json + vq.safetensors (zipar convert --from "
                                   "llamagen-vq) beside config.json"}
    else:
        files = {"files": 1, "bytes": os.path.getsize(path), "parameters": parameters,
                 "dtype": cfg.dtype}
        decoder = {"found": False, "fix": "a .pt holds no decoder: decode with --vq "
                                          "vq_ds16_c2i.pt (LlamaGen's VQ-16 download)"}
    return {
        "family": "llamagen", "layout": layout, "prefix": cfg.prefix,
        "download": "`zipar convert` of a FoundationVision/LlamaGen c2i_*.pt" if layout == "zipar"
        else "FoundationVision/LlamaGen c2i_*.pt; its VQ-16: vq_ds16_c2i.pt",
        "modelType": None, "grid": [cfg.height, cfg.width], "eol": False, "vocab": cfg.vocab,
        "textVocab": None, "layers": cfg.layers, "hidden": cfg.dim, "context": None,
        "numClasses": cfg.num_classes, "preset": cfg.preset,
        "weights": {**files, "parameters": parameters}, "tokenizer": None, "decoder": decoder,
    }
