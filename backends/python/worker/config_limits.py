"""The sizes a model's config.json may ask for, checked from the config alone, before anything is
built or allocated: each size field of the config and of its nested sub-configs is a positive
integer within a cap far above any released model (so a config that asks for a million layers
fails in one line at once, not in a memory blow-up or a hello timeout), every nested sub-config
is of the model_type its family builds (transformers would otherwise build another model at its
default size), and the parameters the config implies must be what the weight files hold.

The caps, with the largest released models for scale: 256 layers (Llama-3.1-405B: 126),
width 65,536 (16,384), MLP 262,144 (53,248), 1,024 heads (128), vocabulary 4,194,304 (Emu3:
184,622), context 1,048,576 tokens (Emu3-Gen: 9,216), a codebook of 1,048,576 (32,768).
"""

from typing import Dict, Optional, Tuple

from errors import CheckpointError

CAPS = {
    "num_hidden_layers": 256, "hidden_size": 65536, "intermediate_size": 1 << 18,
    "num_attention_heads": 1024, "num_key_value_heads": 1024, "head_dim": 4096,
    "vocab_size": 1 << 22, "max_position_embeddings": 1 << 20,
    # image tokenizers (VQ) and vision towers
    "num_embeddings": 1 << 20, "codebook_size": 1 << 20, "embed_dim": 4096,
    "latent_channels": 4096, "base_channels": 4096, "num_res_blocks": 16,
    "image_size": 16384, "patch_size": 1024, "num_image_tokens": 1 << 20,
    "projection_dim": 65536, "image_token_embed_dim": 65536, "num_patches": 4096,
    "temporal_downsample_factor": 64, "resolution": 16384, "z_channels": 4096, "n_embed": 1 << 20,
    "ch": 4096,
    # T5 encoders (LlamaGen t2i's FLAN-T5)
    "d_model": 65536, "d_ff": 1 << 18, "d_kv": 4096, "num_layers": 256, "num_heads": 1024,
    "num_decoder_layers": 256,
}
# Lists of small multipliers.
LIST_CAPS = {"channel_multiplier": (8, 64), "ch_mult": (8, 64), "attn_resolutions": (16, 16384)}
# Parameters a config may imply beyond what its weight files hold (the parts a family does not
# load, rounding): a config that asks for more is not a description of these weights.
SLACK = 1.5


def positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_sizes(config: dict, source: str, where: str = "") -> None:
    """Every size field of `config` (and its nested dicts) within CAPS, one line on the first
    that is not."""
    for key, value in config.items():
        name = f"{where}{key}"
        if isinstance(value, dict):
            check_sizes(value, source, f"{name}.")
        elif key in CAPS and value is not None:
            if not positive_int(value) or value > CAPS[key]:
                raise CheckpointError(f"{source}: {name} is {value!r}; a model's {key} is a whole "
                                      f"number in 1..{CAPS[key]}: the config is broken or not "
                                      f"this model's")
        elif key in LIST_CAPS and value is not None:
            most, cap = LIST_CAPS[key]
            if not isinstance(value, list) or len(value) > most or not all(
                    isinstance(v, int) and not isinstance(v, bool) and 0 < v <= cap
                    for v in value):
                raise CheckpointError(f"{source}: {name} is {value!r}; it is a list of at most "
                                      f"{most} whole numbers in 1..{cap}")


def check_sub_types(config: dict, expected: Dict[str, Tuple[str, ...]], source: str) -> None:
    """Each nested sub-config named in `expected` (text_config …) is of one of its model_types
    (or says none): another type would make transformers build that model at its defaults."""
    for key, types in expected.items():
        sub = config.get(key)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise CheckpointError(f"{source}: {key} is not an object; use the model's own "
                                  f"config.json")
        kind = sub.get("model_type")
        if kind is not None and kind not in types:
            raise CheckpointError(f"{source}: {key}.model_type is {kind!r}, not "
                                  f"{' or '.join(map(repr, types))}: this config is not this "
                                  f"model's (another model would be built at its default size)")


def llama_parameters(text: dict) -> Optional[int]:
    """The parameters a Llama-like text config implies (embeddings, layers, head), or None when
    it lacks a size."""
    try:
        h, layers, inter, vocab = (int(text[k]) for k in ("hidden_size", "num_hidden_layers",
                                                          "intermediate_size", "vocab_size"))
    except (KeyError, TypeError, ValueError):
        return None
    heads = int(text.get("num_attention_heads") or 1)
    kv = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or h // heads)
    attention = h * heads * head_dim * 2 + h * kv * head_dim * 2
    return vocab * h * 2 + layers * (attention + 3 * h * inter)


def check_against_weights(implied: Optional[int], held: int, source: str) -> None:
    """Refuse a config that implies far more parameters than the weight files hold."""
    if implied is not None and implied > SLACK * held + 1_000_000:
        raise CheckpointError(f"{source}: config.json describes a model of about "
                              f"{implied / 1e6:.1f} M parameters, but the weight files hold "
                              f"{held / 1e6:.1f} M: the config is not these weights'")


MAX_GRID_SIDE = 256  # tokens a side: 2,048 px at 8 px a token (Emu3-Gen: 90, Lumina-mGPT: 64)


def check_grid(height: int, width: int, source: str) -> None:
    """A generated grid's sides within MAX_GRID_SIDE (its KV cache grows with H * W)."""
    if max(height, width) > MAX_GRID_SIDE:
        raise CheckpointError(f"{source}: a {height}x{width} grid is more than {MAX_GRID_SIDE} "
                              f"tokens a side; ask for a smaller image")
