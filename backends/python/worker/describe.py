"""`zipar inspect --model PATH`: what a model path holds, read without loading the model — its
family and layout (the official download or a converted copy), grid and EOL, vocabularies,
weights (files, size, parameters, dtype), tokenizer and image decoder, and for each missing piece
which file to add and where. A path of no layout zipar reads names the layouts it does.

Each family describes its own directories (families/<name>/describe.py); the weights are read
from their headers only (a pickle shard is memory-mapped), so a 7B model describes in seconds.
"""

import os

from checkpoint import read_json
from errors import CheckpointError

import families
from families.family import LoadOptions

# The layouts zipar reads, and where to download each (the unknown-layout message).
KNOWN = ("LlamaGen c2i .pt (FoundationVision/LlamaGen) or a `zipar convert` directory; "
         "LlamaGen t2i .pt + FLAN-T5; "
         "Janus-Pro (deepseek-ai/Janus-Pro-1B/-7B, Janus-1.3B, or deepseek-community's "
         "converted copies); Emu3-Gen (BAAI/Emu3-Gen + BAAI/Emu3-VisionTokenizer, or "
         "BAAI/Emu3-Gen-hf); Lumina-mGPT (Alpha-VLLM/Lumina-mGPT-7B-512/-768/-1024 + Meta's "
         "Chameleon VQGAN); Lumina-mGPT 2.0 (Alpha-VLLM/Lumina-mGPT-2.0)")
LAYOUTS = {"janus": {"janus": "transformers", "multi_modality": "official"},
           "emu3": {"emu3": "transformers", "Emu3": "official"},
           "lumina": {"chameleon": "official"}, "lumina2": {"chameleon": "official"}}


def describe(path: str, options: LoadOptions) -> dict:
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such file or directory")
    config_path = os.path.join(path, "config.json")
    config = read_json(config_path) if os.path.isfile(config_path) else None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    try:
        family = families.family_of(path)
    except CheckpointError:
        raise CheckpointError(f"{path}: model_type {model_type!r} is no layout zipar reads; it "
                              f"reads {KNOWN}") from None
    name = family.__name__.split(".")[-1]
    if name == "llamagen":
        if os.path.isdir(path) and not (isinstance(config, dict) and
                                        config.get("format") == "zipar-llamagen"):
            raise CheckpointError(f"{path}: no config.json of a layout zipar reads; it reads "
                                  f"{KNOWN}")
        layout = "zipar" if os.path.isdir(path) else "official .pt"
    elif name == "llamagen_t2i":
        layout = "official .pt"
    else:
        layout = LAYOUTS[name][model_type]
    module = __import__(f"families.{name}.describe", fromlist=["describe"])
    return {"path": path, **module.describe(path, layout, options)}
