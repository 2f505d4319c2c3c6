"""Write a tiny random LlamaGen text-to-image checkpoint and its FLAN-T5 directory for tests.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m tiny_models.llamagen_t2i OUT_DIR [--seed N] [--bench]

OUT_DIR/t2i_test_256.pt: {"model": state} with LlamaGen's t2i GPT keys (cls_embedding.cap_proj
fc1/fc2, cls_embedding.uncond_embedding [120, caption width], the c2i GPT's blocks and head), 2
layers of width 64, vocab 256; its file name says 256 px (16x16), the tests ask for smaller grids.
OUT_DIR/t5/: a FLAN-T5-shaped T5ForConditionalGeneration as transformers saves it (config.json
of model_type "t5", model.safetensors with encoder and decoder), and a tokenizer made here
(transformers' T5Tokenizer over a small Unigram vocabulary with T5's <pad> 0, </s> 1, <unk> 2
and its <extra_id_N> tokens): tokenizer.json + tokenizer_config.json. Broken copies:
OUT_DIR/no-t5/t2i_test_256.pt (no text encoder beside it), OUT_DIR/not-t5/ (a T5 directory whose
config.json names another model_type), OUT_DIR/narrow-t5/ (a T5 of another width).
With --bench only OUT_DIR/bench/: a mid-sized GPT (6 layers, dim 384, vocab 16384; t2i_bench_256.pt,
16x16) and its t5/ (width 256), for timing.
"""

import json
import os
import shutil
import sys

import torch

from families.llamagen_t2i.config import T2IConfig, t2i_shapes
from tiny_models.llamagen import tiny_weights
from tiny_models.random_weights import randomize

TINY = T2IConfig(dim=64, layers=2, heads=4, hidden=128, vocab=256, num_classes=0,
                 null_class=False, height=16, width=16, caption_dim=32, caption_tokens=120)
BENCH = T2IConfig(dim=384, layers=6, heads=6, hidden=1024, vocab=16384, num_classes=0,
                  null_class=False, height=16, width=16, caption_dim=256, caption_tokens=120)
WORDS = ("a red fox in the snow small blue bird on wooden fence at dawn cat sitting "
         "green hill under sky with clouds and of painting photo").split()


def make_tokenizer():
    """transformers' T5Tokenizer over WORDS (as SentencePiece pieces) and single letters."""
    from transformers import T5Tokenizer
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + w, -1.0 - i / 100) for i, w in enumerate(WORDS)]
    vocab += [(c, -10.0) for c in "abcdefghijklmnopqrstuvwxyz"] + [("\u2581", -5.0)]
    return T5Tokenizer(vocab=vocab, extra_ids=8)


def write_t5(out: str, width: int, seed: int):
    """A T5ForConditionalGeneration of `width` with the tokenizer, saved as transformers does."""
    from transformers import T5Config, T5ForConditionalGeneration
    tokenizer = make_tokenizer()
    config = T5Config(vocab_size=len(tokenizer), d_model=width, d_kv=width // 4, d_ff=2 * width,
                      num_layers=2, num_decoder_layers=1, num_heads=4,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(config).eval()
    randomize(model, seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def write_checkpoint(path: str, cfg: T2IConfig, seed: int):
    weights = tiny_weights(cfg, seed, t2i_shapes(cfg))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"model": weights}, path)


def write_all(out: str, seed: int):
    name = "t2i_test_256.pt"
    write_checkpoint(os.path.join(out, name), TINY, seed)
    write_t5(os.path.join(out, "t5"), TINY.caption_dim, seed + 1)
    os.makedirs(os.path.join(out, "no-t5"), exist_ok=True)
    shutil.copy(os.path.join(out, name), os.path.join(out, "no-t5", name))
    shutil.copytree(os.path.join(out, "t5"), os.path.join(out, "not-t5"))
    config_path = os.path.join(out, "not-t5", "config.json")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(dict(config, model_type="bert"), f)
    write_t5(os.path.join(out, "narrow-t5"), TINY.caption_dim // 2, seed + 2)


def main(argv):
    if not argv:
        raise SystemExit(__doc__.split("\n\n")[1])
    out = argv[0]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    if "--bench" in argv:
        bench = os.path.join(out, "bench")
        write_checkpoint(os.path.join(bench, "t2i_bench_256.pt"), BENCH, seed)
        write_t5(os.path.join(bench, "t5"), BENCH.caption_dim, seed + 1)
        return
    write_all(out, seed)


if __name__ == "__main__":
    main(sys.argv[1:])
