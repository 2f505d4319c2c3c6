"""What the tiny random Hugging Face model directories of the tests share (tiny_models/*.py):
seeded weights spread wide enough that greedy decoding has no near-ties.

The weights are drawn from N(0, 1/fan_in) rather than transformers' init (std 0.02), so the
image-token logits are spread by O(1) and greedy decoding has no near-ties that float rounding
could flip between two correct implementations; the attention's query and key projections are
3x that, so attention is sharp and a token depends on its position and the prompt, not only on
the token before it (else greedy grids fall into one repeated token).
"""

import torch


@torch.no_grad()
def randomize(model, seed: int):
    """Every parameter from a seeded generator: matrices N(0, 1/fan_in) (attention q, k: 3x),
    embeddings N(0, 1), norm weights 1 + N(0, 0.01), biases N(0, 0.01)."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        shape = param.shape
        noise = torch.randn(shape, generator=gen)
        if param.dim() == 1:
            is_norm = "norm" in name and name.endswith("weight")
            param.copy_(1 + 0.1 * noise if is_norm else 0.1 * noise)
        elif "embed" in name and param.dim() == 2:
            param.copy_(noise)
        else:
            fan_in = int(torch.tensor(shape[1:]).prod())
            sharp = 3.0 if name.endswith(("q_proj.weight", "k_proj.weight")) else 1.0
            param.copy_(noise * (sharp / fan_in ** 0.5))


def remove_tokenizer(out: str):
    """Delete a directory's tokenizer files (a `--broken no-tokenizer` directory)."""
    import os
    for name in os.listdir(out):
        if name.startswith(("tokenizer", "special_tokens")):
            os.remove(os.path.join(out, name))


def builder_main(prog: str, argv, presets, broken, write_model, write_broken) -> int:
    """A builder's command line: OUT [--preset P] [--seed N] | OUT --broken KIND."""
    import argparse
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("out")
    parser.add_argument("--preset", choices=sorted(presets), default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--broken", choices=list(broken))
    args = parser.parse_args(argv)
    if args.broken:
        write_broken(args.out, args.broken)
    else:
        write_model(args.out, args.preset, args.seed)
    return 0
