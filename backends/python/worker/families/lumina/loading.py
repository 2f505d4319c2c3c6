"""Loading a Lumina-mGPT (Chameleon) directory with transformers' ChameleonForConditionalGeneration,
local safetensors only, and the one layout difference of Lumina's checkpoints.

Lumina-mGPT's Chameleon fork stores each layer's qk-norm (self_attn.q_norm / k_norm, weight and
bias) as [model_parallel_size, head_dim] and expands it to every head in the forward with
repeat_interleave(heads / model_parallel_size) (1 group for the 7B models, 8 for 34B: see
Alpha-VLLM/Chameleon_7B_mGPT's card); transformers' ChameleonLayerNorm holds the expanded
[heads, head_dim]. transformers reports those tensors as size mismatches; they are read here from
the safetensors files and expanded exactly as Lumina's forward does. Any other mismatch, and any
missing weight except the unused VQ encoder (model.vqmodel.*), is a one-line error.
"""

from typing import Dict, List

import torch

from errors import CheckpointError, first_line
from hf_files import check_directory, check_loaded
from safetensors_io import load_tensor, read_header
from weight_files import LAYOUTS, WeightFiles

QK_NORMS = ("self_attn.q_norm.weight", "self_attn.q_norm.bias", "self_attn.k_norm.weight",
            "self_attn.k_norm.bias")
UNUSED = ("model.vqmodel.",)  # the VQ encoder (image understanding): never run here


def read_config(path: str):
    from transformers import ChameleonConfig
    try:
        return ChameleonConfig.from_pretrained(path, local_files_only=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{path}: config.json is no Chameleon config ({first_line(err)}); "
                              f"use the model's own config.json") from None


def shard_of(path: str) -> Dict[str, str]:
    """tensor name -> safetensors file (model.safetensors, or the shards of its index, checked
    by weight_files.py: plain regular files inside the directory)."""
    return dict(WeightFiles(path, layouts=(LAYOUTS[0],), what="Lumina-mGPT").file_of)


def expand_qk_norms(model, path: str, mismatched: List[tuple]):
    """Copy the [groups, head_dim] qk-norm tensors into the model's [heads, head_dim]."""
    files = shard_of(path)
    params = dict(model.named_parameters())
    headers = {}
    for key, stored, wanted in mismatched:
        stored, wanted = list(stored), list(wanted)
        groups, heads = stored[0] if stored else 0, wanted[0]
        if not key.endswith(QK_NORMS) or len(stored) != 2 or stored[1] != wanted[1] \
                or groups < 1 or heads % groups:
            raise CheckpointError(f"{path}: tensor {key} has shape {stored}, expected "
                                  f"{wanted}; the checkpoint does not fit its config.json")
        file = files.get(key)
        if file is None:
            raise CheckpointError(f"{path}: tensor {key} is in no safetensors file")
        if file not in headers:
            headers[file] = read_header(file)
        entries, data_start, _ = headers[file]
        tensor = load_tensor(file, entries[key], data_start)  # [groups, head_dim]
        with torch.no_grad():
            param = params[key]
            param.copy_(tensor.repeat_interleave(heads // groups, dim=0).to(param.dtype))


def load_model(path: str, options):
    """The loaded ChameleonForConditionalGeneration (eval, the worker's dtype and device)."""
    from transformers import ChameleonForConditionalGeneration
    from transformers.utils import logging
    check_directory(path, {"vq_config": ("chameleon_vqgan",)}, text_key=None)
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        model, info = ChameleonForConditionalGeneration.from_pretrained(
            path, local_files_only=True, dtype=options.dtype, use_safetensors=True,
            ignore_mismatched_sizes=True, output_loading_info=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{path}: cannot load the Lumina-mGPT (Chameleon) model "
                              f"({first_line(err)}); it needs config.json and the "
                              f"model.safetensors files as transformers saves them") from None
    missing = [k for k in info.get("missing_keys", []) if not k.startswith(UNUSED)]
    if missing:
        raise CheckpointError(f"{path}: the safetensors files lack {len(missing)} weights of the "
                              f"model (first: {sorted(missing)[0]}); download the model's "
                              f"safetensors files again")
    expand_qk_norms(model, path, info.get("mismatched_keys", []))
    check_loaded(model, info, path)
    return model.to(options.device).eval()
