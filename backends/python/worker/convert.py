"""Convert LlamaGen checkpoints to zipar directories, the formats both backends load.

Usage: python convert.py gpt IN.pt --out DIR [--preset GPT-B] [--grid 16x16] [--heads N]
                         [--dtype float32|float16|bfloat16] [--weights model|ema]
                         [--num-classes N]
       python convert.py vq IN.pt --out DIR

gpt: a c2i GPT .pt -> DIR/model.safetensors + DIR/config.json (zipar-llamagen); a training
     checkpoint (model, optimizer, steps, args, ema) gives its `model` or (--weights ema) its
     `ema` state dict, and its args the preset, grid and num_classes.
vq:  the VQ-16 tokenizer (vq_ds16_c2i.pt) -> DIR/vq.safetensors (decoder tensors only, float32)
     + DIR/vq.json (config inferred from the shapes).
Checkpoints are read with torch.load(weights_only=True) only (pt_file.py), every key and shape
checked; notes (which num_classes was used) are `note:` lines on stderr.
Each file is written to a temporary name in DIR and renamed into place, weights first and config
last, so DIR never holds a half-written model. Prints the config as JSON on stdout; errors are
one line on stderr with exit code 1 (3 when torch is missing).
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import CheckpointError, first_line, missing_dependencies, only_line, printable  # noqa: E402
from output_file import OutputError, output_file, write_error  # noqa: E402

# kind -> (options besides --out, config file, weights file)
KINDS = {
    "gpt": (("--preset", "--grid", "--heads", "--dtype", "--weights", "--num-classes"),
            "config.json", "model.safetensors"),
    "vq": ((), "vq.json", "vq.safetensors"),
}
USAGE = ("usage: convert.py gpt|vq IN.pt --out DIR [--preset P] [--grid HxW] [--heads N] "
         "[--dtype D] [--weights model|ema] [--num-classes N]")


def parse_args(argv) -> dict:
    if len(argv) < 2 or argv[0] not in KINDS or argv[1].startswith("--"):
        raise ValueError(USAGE)
    opts = {"kind": argv[0], "input": argv[1]}
    rest = argv[2:]
    if len(rest) % 2:
        raise ValueError(f"option {rest[-1]} needs a value")
    allowed = ("--out",) + KINDS[argv[0]][0]
    for flag, value in zip(rest[::2], rest[1::2]):
        if flag not in allowed:
            raise ValueError(f"unknown option {printable(flag)} for convert.py {argv[0]}")
        opts[flag[2:].replace("-", "_")] = value
    if "out" not in opts:
        raise ValueError("--out DIR is required")
    return opts


def load(opts: dict):
    """-> (config JSON, {key: tensor}) to write."""
    from devices import pick_dtype
    from families.llamagen import load_pt
    from families.llamagen.vq import load_vq_pt
    from families import llamagen_t2i

    if opts["kind"] == "vq":
        cfg, weights = load_vq_pt(opts["input"])
        return cfg.to_json(), weights
    if llamagen_t2i.accepts(opts["input"], None):
        raise CheckpointError(f"{opts['input']}: a LlamaGen text-to-image checkpoint; zipar "
                              f"convert makes WebGPU directories of class models only: run it "
                              f"as it is with --backend python --model FILE.pt")
    dtype = pick_dtype(opts.get("dtype", "float32"))
    heads = count_option(opts, "heads")
    cfg, weights = load_pt(opts["input"], opts.get("preset"), heads, opts.get("grid"),
                           opts.get("weights", "model"), count_option(opts, "num_classes"))
    cfg.dtype = opts.get("dtype", "float32")
    return cfg.to_json(), {k: v.to(dtype) for k, v in weights.items()}


def count_option(opts: dict, name: str):
    """A positive integer option, or None when absent."""
    if name not in opts:
        return None
    value = opts[name]
    if not value.isdigit() or not 1 <= int(value) <= 1 << 20:
        raise ValueError(f"--{name.replace('_', '-')} must be an integer in 1..{1 << 20}, got "
                         f"{printable(value)}")
    return int(value)


def write_json(path: str, value: dict):
    with output_file(path) as f:
        f.write((json.dumps(value, indent=2) + "\n").encode("utf-8"))


def convert(opts: dict) -> dict:
    from safetensors_io import write_safetensors

    config, weights = load(opts)
    _, config_name, weights_name = KINDS[opts["kind"]]
    out = opts["out"]
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"cannot write {out}: it is not a directory (--out names the "
                          f"directory for {config_name} + {weights_name})")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise write_error(out, err) from None
    write_safetensors(os.path.join(out, weights_name), weights,
                      {"format": "pt", "source": os.path.basename(opts["input"])})
    write_json(os.path.join(out, config_name), config)
    return config


def stop(signum, _frame):
    """SIGTERM from the client (cli/io/interrupt.ts): unwind, so that output_file removes the
    temporary file being written, and exit."""
    raise SystemExit(128 + signum)


def main(argv) -> int:
    # The client owns the signals (cli/io/interrupt.ts): a Ctrl-C reaching the whole process
    # group is ignored here; the client sends SIGTERM when it is interrupted.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    problem = missing_dependencies()
    if problem:
        print(problem, file=sys.stderr)
        return 3
    try:
        config = convert(parse_args(argv))
    except (ValueError, OSError) as err:
        print(printable(only_line(err)), file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - never a traceback: one line naming the type
        print(printable(first_line(err)), file=sys.stderr)
        return 1
    print(json.dumps(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
