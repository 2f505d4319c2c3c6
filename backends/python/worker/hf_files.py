"""Loading a Hugging Face model directory for the prompt families (Janus, Emu3, Lumina-mGPT):
the tokenizer and the model, local files only, every failure one line naming what is missing and
the fix; a directory is checked before anything is built (check_directory: config sizes, sub-config
types, weight files, implied parameters) and after (check_loaded: no layers beyond the config's,
finite weights)."""

import os
import re
from math import prod
from typing import Dict, Optional, Tuple

from checkpoint import check_finite, read_json
from config_limits import check_against_weights, check_sizes, check_sub_types, llama_parameters
from errors import CheckpointError, first_line
from weight_files import WeightFiles

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def load_tokenizer(path: str):
    """The directory's tokenizer (AutoTokenizer, local files only), or one line naming the
    missing files and the fix."""
    if not any(os.path.isfile(os.path.join(path, name)) for name in TOKENIZER_FILES):
        raise CheckpointError(f"{path}: no tokenizer files ({', '.join(TOKENIZER_FILES)} and "
                              f"tokenizer_config.json); copy the model's tokenizer files from "
                              f"its Hugging Face repository into the directory")
    from transformers import AutoTokenizer
    try:
        # trust_remote_code=False: a tokenizer_config.json with an auto_map is refused, never
        # run, and transformers never asks "[y/N]" on the worker's stdin (the protocol pipe).
        return AutoTokenizer.from_pretrained(path, local_files_only=True,
                                             trust_remote_code=False)
    except Exception as err:  # noqa: BLE001 - any failure becomes one line
        if "trust_remote_code" in str(err) or "custom code" in str(err):
            raise CheckpointError(f"{path}: the tokenizer files ask to run the directory's own "
                                  f"Python code (an auto_map in tokenizer_config.json), which "
                                  f"zipar never runs; use the model's transformers-layout "
                                  f"tokenizer files") from None
        raise CheckpointError(f"{path}: cannot load the tokenizer ({first_line(err)}); copy "
                              f"the model's tokenizer files into the directory") from None


def check_directory(path: str, sub_types: Dict[str, Tuple[str, ...]],
                    text_key: Optional[str] = "text_config") -> WeightFiles:
    """What a transformers-layout directory must pass before anything is built: config.json's
    sizes within their caps, its sub-configs of the family's model_types, its weight files
    (index, shards, headers) sound, and the parameters the config implies held by them."""
    config_path = os.path.join(path, "config.json")
    config = read_json(config_path)
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path}: not a JSON object; use the model's own config.json")
    check_sizes(config, config_path)
    check_sub_types(config, sub_types, config_path)
    weights = WeightFiles(path)
    shapes = weights.shapes()
    text = config.get(text_key) if text_key else config
    if isinstance(text, dict):
        held = sum(prod(shape) for _, shape in shapes.values())
        check_against_weights(llama_parameters(text), held, config_path)
    return weights


def check_loaded(model, info: dict, path: str):
    """After a load: no weights of layers the config does not have (loading them would drop
    them silently), and no NaN or infinity in any parameter."""
    extra = sorted(info.get("unexpected_keys", []) or [])
    layers = [int(m[1]) for k in extra for m in [re.search(r"\.layers\.(\d+)\.", k)] if m]
    if layers:
        config = getattr(model.config, "text_config", model.config)
        raise CheckpointError(f"{path}: holds weights of layer {max(layers)}, but config.json "
                              f"says {config.num_hidden_layers} layers: the config does not "
                              f"describe these weights")
    check_finite(model.named_parameters(), path)


def load_pretrained(model_class, path: str, options, what: str, missing: bool = False,
                    sub_types: Optional[Dict[str, Tuple[str, ...]]] = None):
    """model_class.from_pretrained(path) from local safetensors only (no hub, no pickles), in
    the worker's dtype, moved to its device, in eval mode, after check_directory and with
    check_loaded. `what` names the model in errors. With `missing`, returns (model, the
    parameter names the file lacked): transformers fills those with fresh random values and only
    warns, so a family checks them itself."""
    from transformers.utils import logging
    check_directory(path, sub_types or {})
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        model, info = model_class.from_pretrained(path, local_files_only=True,
                                                  dtype=options.dtype, use_safetensors=True,
                                                  output_loading_info=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{path}: cannot load the {what} model ({first_line(err)}); it "
                              f"needs config.json and model.safetensors as transformers "
                              f"saves them") from None
    check_loaded(model, info, path)
    model = model.to(options.device).eval()
    return (model, sorted(info.get("missing_keys", []))) if missing else model


def load_state_dict(model_class, config, state: dict, options, where: str, what: str):
    """model_class built from `config` with the tensors of `state` (a layout's weights mapped
    onto transformers' names), in the worker's dtype -> (model, loading info: the names it
    lacked); a failure is one line naming `where` and `what`."""
    from transformers.utils import logging
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        model, info = model_class.from_pretrained(None, config=config, state_dict=state,
                                                  dtype=options.dtype, output_loading_info=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes one line
        raise CheckpointError(f"{where}: cannot load the {what} weights ({first_line(err)}); "
                              f"download the model's files again") from None
    check_loaded(model, info, where)
    return model, info
