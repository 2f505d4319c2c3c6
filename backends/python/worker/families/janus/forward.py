"""The Janus step forward: transformers' own modules (the Llama decoder layers, their rotary
embedding and final norm, the image-generation embeddings, aligner and head) driven by zipar's
rows, masks and slot KV cache.

A step is a batch of rows, each writing one absolute position of one sequence (a prompt token
of a condition block, or an image token). The rows are grouped by sequence ([U, m], padded);
every decoder layer is called with a 4-D additive mask built from the cache's written mask
(a row sees the written positions <= its own, unwritten positions are masked, never zero keys)
and RoPE at the rows' absolute positions, and with a cache object whose update() scatters the
rows' K/V into their positions and returns the whole K/V of the touched sequences, which is
what LlamaAttention attends over (transformers 5.24: `cache.update(key_states, value_states,
self.layer_idx, kwargs=kwargs)`).
"""

from typing import Optional

import torch

from kv_cache import SlotKVCache
from step_index import StepIndex


class StepCache:
    """transformers' Cache interface as LlamaAttention uses it, over one step of a
    SlotKVCache: update() writes the step's rows and returns the full K/V."""

    def __init__(self, cache: SlotKVCache, ix: StepIndex):
        self.cache, self.ix = cache, ix

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int,
               *args, **kwargs):
        """key_states, value_states: [U, kv_heads, m, hd] (RoPE applied) ->
        keys, values: [U, kv_heads, S, hd], S = the cache's capacity."""
        ix, hd = self.ix, key_states.shape[-1]
        out = []
        for state, store in ((key_states, self.cache.k[layer_idx]),
                             (value_states, self.cache.v[layer_idx])):
            rows = state.transpose(1, 2)[ix.group, ix.rank]  # [n, kv_heads, hd]
            store.view(-1, hd).index_copy_(0, ix.rows, rows.reshape(-1, hd).to(store.dtype))
            out.append(store if ix.useq is None else store[ix.useq])
        return out[0], out[1]


class JanusForward:
    """The pieces of a loaded JanusForConditionalGeneration that image generation runs."""

    def __init__(self, model):
        self.model = model  # JanusForConditionalGeneration, eval, on its device and dtype
        lm = model.model.language_model  # LlamaModel
        self.embed_tokens, self.layers, self.norm = lm.embed_tokens, lm.layers, lm.norm
        self.rotary_emb = lm.rotary_emb
        self.head = model.model.generation_head
        text = model.config.text_config
        self.num_layers = text.num_hidden_layers
        self.kv_heads = text.num_key_value_heads
        self.head_dim = getattr(text, "head_dim", None) or \
            text.hidden_size // text.num_attention_heads
        self.hidden = text.hidden_size
        self.dtype = lm.embed_tokens.weight.dtype
        self.device = lm.embed_tokens.weight.device

    def new_cache(self, num_seqs: int, capacity: int, offset) -> SlotKVCache:
        return SlotKVCache(self.num_layers, num_seqs, self.kv_heads, self.head_dim, capacity,
                           self.dtype, self.device, offset)

    def embed_text(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: [r] prompt tokens -> [r, hidden]."""
        return self.embed_tokens(ids)

    def embed_image(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [r] image (codebook) tokens -> [r, hidden], the generation path."""
        return self.model.prepare_embeddings_for_image_generation(tokens)

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex,
             want: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: [n, hidden] row inputs -> logits [len(want), codebook] float32 of the rows
        ix.want (or want), in row order."""
        hidden_mask = cache.mark_written(ix)  # [U, 1, m, S] bool: True = not visible
        mask = torch.zeros(hidden_mask.shape, dtype=self.dtype, device=self.device)
        mask.masked_fill_(hidden_mask, torch.finfo(self.dtype).min)  # padding rows: finite
        h = x.new_zeros(ix.num_groups, ix.width, self.hidden)
        h[ix.group, ix.rank] = x  # [U, m, hidden]
        position_ids = ix.pos_pad.clamp(min=0)  # [U, m]
        position_embeddings = self.rotary_emb(h, position_ids=position_ids)
        step_cache = StepCache(cache, ix)
        for layer in self.layers:
            h = layer(h, attention_mask=mask, position_ids=position_ids, cache=step_cache,
                      use_cache=True, position_embeddings=position_embeddings)
        rows = h[ix.group, ix.rank]  # [n, hidden]
        keep = ix.want if want is None else want
        return self.head(self.norm(rows[keep])).float()  # [w, codebook]
