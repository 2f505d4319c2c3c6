"""Train zipar's built-in demo model: a class-conditional LlamaGen-style GPT on Fashion-MNIST.

    apt-get install dataset-fashion-mnist python3-torch python3-numpy libopenblas0-pthread
    /usr/bin/python3 tools/demo/train.py --minutes 60 --out fixtures/demo

Writes OUT/model.safetensors + OUT/config.json (the format both backends load), the tokenizer
codebook OUT/decoder.safetensors, and OUT/train_log.txt. The learning rate follows wall time
(warm-up, then cosine to 10%), because throughput varies on shared cores.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "backends",
                             "python", "worker"))  # the worker's safetensors_io
import fmnist  # noqa: E402
import tokenizer  # noqa: E402
from gpt import GPT, find_hidden  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--out", default="fixtures/demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true",
                    help="continue from OUT/model.safetensors with OUT/decoder.safetensors's codebook")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "train_log.txt"), "a" if args.resume else "w")

    def log(msg):
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    log(f"args: {vars(args)}  torch {torch.__version__}")
    train_x, train_y = fmnist.load("train")
    test_x, test_y = fmnist.load("test")
    t0 = time.time()
    if args.resume:
        codebook = read_safetensors(os.path.join(args.out, "decoder.safetensors"))["codebook"]
    else:
        codebook = tokenizer.fit(train_x, vocab=args.vocab, seed=args.seed)
    train_t = tokenizer.encode(train_x, codebook)
    test_t = tokenizer.encode(test_x, codebook)
    rec = tokenizer.decode(test_t[:2000], codebook) * 255
    err = (rec - torch.from_numpy(test_x[:2000].astype(np.float32))).abs().mean().item()
    log(f"tokenizer: {args.vocab} codes, reconstruction mean abs error {err:.2f}/255, "
        f"{time.time() - t0:.0f}s")
    if not args.resume:
        write_safetensors(os.path.join(args.out, "decoder.safetensors"), {"codebook": codebook},
                          {"kind": "patch-codebook", "patch": "2"})

    model = GPT(dim=args.dim, layers=args.layers, heads=args.heads, vocab=args.vocab)
    if args.resume:
        model.load_state_dict(read_safetensors(os.path.join(args.out, "model.safetensors")))
        log("resumed from model.safetensors")
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {params / 1e6:.2f}M parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    ytr = torch.from_numpy(train_y.astype(np.int64))
    yte = torch.from_numpy(test_y.astype(np.int64))
    budget = args.minutes * 60
    start = time.time()
    step, seen = 0, 0
    g = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(len(train_t), generator=g)
    pos = 0

    def val_bits():
        model.eval()
        with torch.no_grad():
            idx = torch.arange(0, 2000)
            logits = model(yte[idx], test_t[idx])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), test_t[idx].reshape(-1))
        model.train()
        return loss.item() / math.log(2)

    while True:
        elapsed = time.time() - start
        if elapsed >= budget:
            break
        frac = elapsed / budget
        warm = 0.03
        lr = args.lr * (frac / warm if frac < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (frac - warm) / (1 - warm))))
        for group in opt.param_groups:
            group["lr"] = lr
        if pos + args.batch > len(perm):
            perm = torch.randperm(len(train_t), generator=g)
            pos = 0
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        logits = model(ytr[idx], train_t[idx])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), train_t[idx].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += len(idx)
        if step % 100 == 0:
            log(f"step {step} epoch {seen / len(train_t):.2f} lr {lr:.2e} "
                f"train {loss.item() / math.log(2):.3f} bits/token  {elapsed / 60:.1f} min")
        if step % 1000 == 0:
            log(f"  val {val_bits():.3f} bits/token")
    log(f"done: {step} steps, {seen / len(train_t):.2f} epochs, val {val_bits():.3f} bits/token")
    state = {k: v.float() for k, v in model.state_dict().items()}
    config = {"format": "zipar-llamagen", "formatVersion": 1, "family": "llamagen", "preset": None,
              "dim": args.dim, "layers": args.layers, "heads": args.heads, "hidden": find_hidden(args.dim),
              "vocab": args.vocab, "numClasses": 10, "prefix": 1, "grid": [14, 14], "normEps": 1e-5,
              "ropeBase": 10000, "dtype": "float32",
              "classNames": fmnist.CLASSES,
              "decoder": {"kind": "patch-codebook", "file": "decoder.safetensors", "patch": 2,
                          "channels": 1}}
    write_safetensors(os.path.join(args.out, "model.safetensors"), state)
    tmp = os.path.join(args.out, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2)
    os.replace(tmp, os.path.join(args.out, "config.json"))
    log(f"wrote {args.out}/model.safetensors, config.json, decoder.safetensors")


if __name__ == "__main__":
    main()
