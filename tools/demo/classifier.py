"""Train the small Fashion-MNIST classifier zipar's eval uses for class accuracy and Fréchet
distance. It sees token-reconstructed images (what generated grids decode to), not raw pixels.

    /usr/bin/python3 tools/demo/classifier.py --demo fixtures/demo

Reads the tokenizer codebook OUT/decoder.safetensors; writes OUT/classifier.safetensors and
OUT/classifier.json (architecture, test accuracy, reference feature statistics of the
token-reconstructed training set), plus OUT/test_slice.json (a shipped slice of test grids
and labels for the accuracy test).

Architecture (mirrored in TypeScript by cli/eval/fmnist_classifier.ts):
  conv1 3x3 1->16 pad 1, relu, maxpool 2 -> conv2 3x3 16->32 pad 1, relu, maxpool 2
  -> fc1 1568->64, relu (= the 64-d features) -> fc2 64->10
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "backends",
                             "python", "worker"))  # the worker's safetensors_io
import fmnist  # noqa: E402
import tokenizer  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def features(self, x):  # x: [B, 1, 28, 28] in [0, 1]
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))  # [B, 64]

    def forward(self, x):
        return self.fc2(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default="fixtures/demo")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slice", type=int, default=500)
    ap.add_argument("--train-images", type=int, default=20000)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    codebook = read_safetensors(os.path.join(args.demo, "decoder.safetensors"))["codebook"]
    train_x, train_y = fmnist.load("train")
    train_x, train_y = train_x[:args.train_images], train_y[:args.train_images]
    test_x, test_y = fmnist.load("test")
    t0 = time.time()
    train_t = tokenizer.encode(train_x, codebook)
    test_t = tokenizer.encode(test_x, codebook)
    xtr = tokenizer.decode(train_t, codebook)[:, None]  # [N, 1, 28, 28]
    xte = tokenizer.decode(test_t, codebook)[:, None]
    ytr = torch.from_numpy(train_y.astype(np.int64))
    yte = torch.from_numpy(test_y.astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        net.train()
        print(f"epoch {epoch + 1}: test accuracy {acc:.4f} ({time.time() - t0:.0f}s)", flush=True)
    net.eval()
    with torch.no_grad():
        feats = torch.cat([net.features(xtr[i:i + 4096]) for i in range(0, len(xtr), 4096)]).double()
        slice_acc = (net(xte[:args.slice]).argmax(1) == yte[:args.slice]).float().mean().item()
    mu = feats.mean(0)
    cov = torch.cov(feats.T) if hasattr(torch, "cov") else ((feats - mu).T @ (feats - mu)) / (len(feats) - 1)
    write_safetensors(os.path.join(args.demo, "classifier.safetensors"),
                      {k: v.float() for k, v in net.state_dict().items()})
    info = {
        "format": "zipar-fmnist-classifier", "formatVersion": 1,
        "architecture": "conv3x3(1->16) relu maxpool2, conv3x3(16->32) relu maxpool2, fc(1568->64) relu, fc(64->10)",
        "input": "token-reconstructed 28x28 grayscale in [0, 1]",
        "testAccuracy": round(acc, 4), "sliceAccuracy": round(slice_acc, 4), "sliceSize": args.slice,
        "epochs": args.epochs, "seed": args.seed, "trainImages": args.train_images,
        "reference": {"set": "token-reconstructed training images", "count": len(feats),
                      "mean": mu.tolist(), "cov": cov.tolist()},
        "command": "/usr/bin/python3 tools/demo/classifier.py --demo " + args.demo,
    }
    tmp = os.path.join(args.demo, "classifier.json.tmp")
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, os.path.join(args.demo, "classifier.json"))
    sl = {"shape": [args.slice, 14, 14], "tokens": test_t[:args.slice].reshape(-1).tolist(),
          "labels": test_y[:args.slice].astype(int).tolist(),
          "meta": {"source": "Fashion-MNIST test split, first images, tokenized with decoder.safetensors"}}
    tmp = os.path.join(args.demo, "test_slice.json.tmp")
    with open(tmp, "w") as f:
        json.dump(sl, f, separators=(",", ":"))
    os.replace(tmp, os.path.join(args.demo, "test_slice.json"))
    print(f"wrote classifier: test accuracy {acc:.4f}, slice accuracy {slice_acc:.4f}")


if __name__ == "__main__":
    main()
