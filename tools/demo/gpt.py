"""LlamaGen GPT (c2i) for training: full-sequence causal forward with the exact LlamaGen state-dict
names, 2D RoPE with zeroed class slot, RMSNorm, SwiGLU. Inference lives in backends/python."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def find_hidden(dim: int) -> int:
    hidden = int(2 * (4 * dim) / 3)
    return 256 * ((hidden + 255) // 256)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class ClassEmbedder(nn.Module):
    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + 1, dim)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.wqkv = nn.Linear(dim, 3 * dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, eps: float):
        super().__init__()
        self.attention = Attention(dim, heads)
        self.feed_forward = FeedForward(dim, hidden)
        self.attention_norm = RMSNorm(dim, eps)
        self.ffn_norm = RMSNorm(dim, eps)


def rope_2d(grid: int, head_dim: int, prefix: int, base: float = 10000.0) -> torch.Tensor:
    """cos/sin per slot: [prefix + grid*grid, head_dim/2, 2]; prefix slots are zero."""
    half = head_dim // 2
    freqs = 1.0 / (base ** (torch.arange(0, half, 2)[: half // 2].float() / half))  # [D/4]
    t = torch.arange(grid, dtype=torch.float32)
    fh = torch.outer(t, freqs)  # [G, D/4]
    grid_angles = torch.cat([fh[:, None, :].expand(-1, grid, -1),
                             fh[None, :, :].expand(grid, -1, -1)], dim=-1)  # [G, G, D/2]
    angles = grid_angles.reshape(grid * grid, half)
    cache = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    return torch.cat([torch.zeros(prefix, half, 2), cache])


def apply_rope(x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """x: [B, T, H, D], rope: [T, D/2, 2]."""
    xs = x.float().reshape(*x.shape[:-1], -1, 2)
    r = rope[None, :, None]
    out = torch.stack([xs[..., 0] * r[..., 0] - xs[..., 1] * r[..., 1],
                       xs[..., 1] * r[..., 0] + xs[..., 0] * r[..., 1]], dim=-1)
    return out.flatten(3).type_as(x)


class GPT(nn.Module):
    def __init__(self, dim=128, layers=6, heads=4, vocab=512, num_classes=10, grid=14,
                 hidden=None, eps=1e-5, class_dropout=0.1):
        super().__init__()
        self.dim, self.heads, self.grid, self.num_classes = dim, heads, grid, num_classes
        self.class_dropout = class_dropout
        self.cls_embedding = ClassEmbedder(num_classes, dim)
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(
            [Block(dim, heads, hidden or find_hidden(dim), eps) for _ in range(layers)])
        self.norm = RMSNorm(dim, eps)
        self.output = nn.Linear(dim, vocab, bias=False)
        self.register_buffer("rope", rope_2d(grid, dim // heads, 1), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, classes: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """classes: [B], tokens: [B, N] -> logits: [B, N, vocab] (slot p predicts token p)."""
        if self.training and self.class_dropout > 0:
            drop = torch.rand(classes.shape, device=classes.device) < self.class_dropout
            classes = torch.where(drop, torch.full_like(classes, self.num_classes), classes)
        x = torch.cat([self.cls_embedding.embedding_table(classes)[:, None],
                       self.tok_embeddings(tokens[:, :-1])], dim=1)  # [B, T, dim]
        b, t, _ = x.shape
        hd = self.dim // self.heads
        rope = self.rope[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)
        for layer in self.layers:
            h = layer.attention_norm(x)
            q, k, v = layer.attention.wqkv(h).split(self.dim, dim=-1)
            q = apply_rope(q.view(b, t, self.heads, hd), rope).transpose(1, 2)
            k = apply_rope(k.view(b, t, self.heads, hd), rope).transpose(1, 2)
            v = v.view(b, t, self.heads, hd).transpose(1, 2)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
            y = (F.softmax(att.float(), dim=-1).type_as(q) @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + layer.attention.wo(y)
            n = layer.ffn_norm(x)
            x = x + layer.feed_forward.w2(F.silu(layer.feed_forward.w1(n)) * layer.feed_forward.w3(n))
        return self.output(self.norm(x)).float()
