"""The LlamaGen t2i GPT over zipar's slot KV cache: the c2i GPT (families/llamagen/gpt.py: the
same blocks, head and 2-D RoPE table, whose prefix slot is all zero) with the caption embedder
in place of the class table, and the session whose condition block is a sequence's caption.

A sequence's caption block is its V valid caption rows (text_encoder.py: the left-padded
positions the official loop masks out are never written, which is what masking them does), each
the caption embedder's output cap_proj(features) = fc2(gelu_tanh(fc1(features))). The rows are
computed once when the session opens and kept beside the KV cache (CaptionKVCache.captions); the
prefill step reads them by row index (the condition block's "ids", prompt_session.py). They sit
in the engine's prefix slot, so RoPE gives them cos = sin = 0 as LlamaGen's table gives its
cls_token_num caption positions: their queries and keys are zero, their values count.
"""

from typing import List

import torch
import torch.nn.functional as F

from kv_cache import SlotKVCache
from prompt_session import PromptIndex, PromptSession, row_inputs
from families.llamagen.gpt import LlamaGenGPT, LlamaGenSession

from .config import FC1, FC2, UNCOND, T2IConfig


class CaptionKVCache(SlotKVCache):
    """The slot KV cache plus its session's caption rows: captions [seqs * tokens, dim] in the
    model's dtype, sequence i's rows from i * tokens (refilled in place by each session, so a
    graph captured over the cache reads the new session's rows)."""

    def __init__(self, cfg: T2IConfig, num_seqs: int, capacity: int, dtype, device, offset=None):
        super().__init__(cfg.layers, num_seqs, cfg.n_kv_heads, cfg.head_dim, capacity, dtype,
                         device, offset)
        self.captions = torch.zeros(num_seqs * cfg.caption_tokens, cfg.dim, dtype=dtype,
                                    device=device)


class CaptionGPT(LlamaGenGPT):
    """The t2i GPT: LlamaGenGPT's blocks and head, the caption embedder as its condition."""

    cfg: T2IConfig

    def load_condition(self, w):
        self.fc1 = w(FC1)  # [dim, caption_dim]
        self.fc2 = w(FC2)  # [dim, dim]
        self.uncond = w(UNCOND)  # [tokens, caption_dim]: the null caption

    def new_cache(self, num_seqs: int, capacity=None, offset=None) -> CaptionKVCache:
        return CaptionKVCache(self.cfg, num_seqs, capacity or self.cfg.positions, self.dtype,
                              self.device, offset)

    def embed_captions(self, features: torch.Tensor) -> torch.Tensor:
        """features: [..., caption_dim] -> [..., dim]: cap_proj (fc1, GELU tanh, fc2)."""
        hidden = F.gelu(F.linear(features.to(self.dtype), self.fc1), approximate="tanh")
        return F.linear(hidden, self.fc2)

    def forward_step(self, cache: CaptionKVCache, token: torch.Tensor,
                     ix: PromptIndex) -> torch.Tensor:
        """The step a graph captures: token: [n] -> logits [w, vocab] float32; the condition
        block's rows read the cache's caption rows."""
        x = row_inputs(ix, token, lambda rows: cache.captions[rows],
                       lambda t: F.embedding(t, self.tok_embeddings), self.cfg.dim,
                       self.dtype)  # [r, dim]
        return self.step(cache, x, ix.rows)


class CaptionSession(PromptSession):
    """One generation: captions: each sequence's valid caption features [V_i, caption_dim]
    (None: the null caption of V_i rows, the last V_i of uncond_embedding, where V_i is the
    length of the prompt it guides)."""

    # The c2i session's check: the prefix slot takes the condition token, images 0..vocab-1.
    check_queries = LlamaGenSession.check_queries

    def __init__(self, family, sequences: List, captions: List, lengths: List[int]):
        self.model: CaptionGPT = family.model
        tokens = self.model.cfg.caption_tokens
        self.num_rows = len(sequences) * tokens  # the cache's caption rows
        ids = [[i * tokens + j for j in range(v)] for i, v in enumerate(lengths)]
        super().__init__(family, sequences, ids)
        rows = self.cache.captions.view(len(sequences), tokens, -1)  # [seqs, tokens, dim]
        with torch.no_grad():
            for i, (features, v) in enumerate(zip(captions, lengths)):
                null = self.model.uncond[tokens - v:]  # [V, caption_dim]
                rows[i, :v] = self.model.embed_captions(null if features is None else features)

    def condition_rows(self, family) -> int:
        return self.num_rows
