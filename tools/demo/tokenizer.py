"""2x2-patch k-means tokenizer for Fashion-MNIST: 28x28 images <-> 14x14 token grids.

Codes are ordered by frequency, so code 0 is the (dark) background. The decoder is a codebook
lookup: codebook [vocab, 4] holds each code's 2x2 patch in [0, 1], row-major (top-left,
top-right, bottom-left, bottom-right).
"""
import numpy as np
import torch

PATCH = 2


def patches(images: np.ndarray) -> torch.Tensor:
    """images: [N, 28, 28] uint8 -> patches: [N, 196, 4] float32 in [0, 1]."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    n, h, w = x.shape
    x = x.reshape(n, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 1, 3, 2, 4)
    return x.reshape(n, (h // PATCH) * (w // PATCH), PATCH * PATCH)


def assign(p: torch.Tensor, codebook: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
    """p: [M, 4], codebook: [K, 4] -> nearest code: [M] int64."""
    out = torch.empty(p.shape[0], dtype=torch.int64)
    c2 = (codebook * codebook).sum(1)
    for i in range(0, p.shape[0], chunk):
        q = p[i:i + chunk]
        d = c2[None, :] - 2 * q @ codebook.T  # [chunk, K] (+|q|^2, constant per row)
        out[i:i + chunk] = d.argmin(1)
    return out


def fit(images: np.ndarray, vocab: int = 512, sample: int = 200_000, iters: int = 15,
        seed: int = 0) -> torch.Tensor:
    """k-means++-seeded Lloyd iterations on a patch sample; returns codebook [vocab, 4] by frequency."""
    g = torch.Generator().manual_seed(seed)
    p = patches(images).reshape(-1, PATCH * PATCH)
    p = p[torch.randperm(p.shape[0], generator=g)[:sample]]
    # k-means++ seeding
    centers = [p[torch.randint(p.shape[0], (1,), generator=g)]]
    d2 = ((p - centers[0]) ** 2).sum(1)
    for _ in range(1, vocab):
        probs = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / len(d2))
        c = p[torch.multinomial(probs, 1, generator=g)]
        centers.append(c)
        d2 = torch.minimum(d2, ((p - c) ** 2).sum(1))
    codebook = torch.cat(centers)
    for _ in range(iters):
        a = assign(p, codebook)
        sums = torch.zeros_like(codebook).index_add_(0, a, p)
        counts = torch.bincount(a, minlength=vocab).float()
        keep = counts > 0
        codebook[keep] = sums[keep] / counts[keep, None]
    full = patches(images).reshape(-1, PATCH * PATCH)
    counts = torch.bincount(assign(full, codebook), minlength=vocab)
    order = torch.argsort(counts, descending=True, stable=True)
    return codebook[order].clamp(0, 1).contiguous()


def encode(images: np.ndarray, codebook: torch.Tensor) -> torch.Tensor:
    """images: [N, 28, 28] -> tokens: [N, 196] int64. Assigns each distinct patch once."""
    n, h, w = images.shape
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.int64)
    x = x.reshape(n, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 1, 3, 2, 4)
    x = x.reshape(-1, PATCH * PATCH)  # [N*196, 4] uint8 values
    keys = x[:, 0] | (x[:, 1] << 8) | (x[:, 2] << 16) | (x[:, 3] << 24)
    unique, inverse = torch.unique(keys, return_inverse=True)
    up = torch.stack([(unique >> (8 * k)) & 255 for k in range(PATCH * PATCH)], 1).float() / 255.0
    return assign(up, codebook)[inverse].reshape(n, -1)


def decode(tokens: torch.Tensor, codebook: torch.Tensor, side: int = 14) -> torch.Tensor:
    """tokens: [N, side*side] -> images: [N, 2*side, 2*side] float32 in [0, 1]."""
    n = tokens.shape[0]
    x = codebook[tokens].reshape(n, side, side, PATCH, PATCH).permute(0, 1, 3, 2, 4)
    return x.reshape(n, side * PATCH, side * PATCH)
