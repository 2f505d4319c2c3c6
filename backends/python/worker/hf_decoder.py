"""A transformers decoder stack (Llama-like: embed_tokens, layers, norm, rotary_emb) driven by
zipar's rows, masks and slot KV cache, for the Hugging Face families (Janus; Emu3 and
Lumina-mGPT next).

A step is a batch of rows, each writing one absolute position of one sequence (a prompt token
of a condition block, or an image-part token). The rows are grouped by sequence ([U, m],
padded); every decoder layer is called with a 4-D additive mask built from the cache's written
mask (a row sees the written positions <= its own; unwritten positions are masked, never zero
keys; padding rows get a finite mask) and RoPE at the rows' absolute positions, and with a
cache object whose update() scatters the rows' K/V into their positions and returns the whole
K/V of the touched sequences, which is what the model's attention attends over (transformers
5.24's LlamaAttention: `cache.update(key_states, value_states, self.layer_idx,
kwargs=kwargs)`). The model's own attention implementation (sdpa by default) does the rest.
"""

import torch

from kv_cache import SlotKVCache
from step_index import StepIndex


class StepCache:
    """transformers' Cache interface as the attention layers use it, over one step of a
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


class HFDecoder:
    """The decoder stack of a loaded transformers text model (LlamaModel-like)."""

    def __init__(self, text_model, text_config):
        self.embed_tokens, self.layers = text_model.embed_tokens, text_model.layers
        self.norm, self.rotary_emb = text_model.norm, text_model.rotary_emb
        self.num_layers = int(text_config.num_hidden_layers)
        self.kv_heads = int(getattr(text_config, "num_key_value_heads", None)
                            or text_config.num_attention_heads)
        self.head_dim = int(getattr(text_config, "head_dim", None)
                            or text_config.hidden_size // text_config.num_attention_heads)
        self.hidden = int(text_config.hidden_size)
        self.dtype = text_model.embed_tokens.weight.dtype
        self.device = text_model.embed_tokens.weight.device

    def new_cache(self, num_seqs: int, capacity: int, offset) -> SlotKVCache:
        return SlotKVCache(self.num_layers, num_seqs, self.kv_heads, self.head_dim, capacity,
                           self.dtype, self.device, offset)

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """x: [n, hidden] row inputs -> the final-norm hidden states [len(ix.want), hidden]
        of the rows whose logits are wanted, in row order."""
        hidden_mask = cache.mark_written(ix)  # [U, 1, m, S] bool: True = not visible
        mask = torch.zeros(hidden_mask.shape, dtype=self.dtype, device=self.device)
        mask.masked_fill_(hidden_mask, torch.finfo(self.dtype).min)
        h = x.new_zeros(ix.num_groups, ix.width, self.hidden)
        h[ix.group, ix.rank] = x  # [U, m, hidden]
        position_ids = ix.pos_pad.clamp(min=0)  # [U, m]; padding rows at 0, never kept
        position_embeddings = self.rotary_emb(h, position_ids=position_ids)
        step_cache = StepCache(cache, ix)
        for layer in self.layers:
            h = layer(h, attention_mask=mask, position_ids=position_ids, cache=step_cache,
                      use_cache=True, position_embeddings=position_embeddings)
        rows = h[ix.group, ix.rank]  # [n, hidden]
        return self.norm(rows[ix.want])

    def recompute(self, x: torch.Tensor, positions: torch.Tensor,
                  visible: torch.Tensor) -> torch.Tensor:
        """No cache (the tests' reference): x: [E, hidden] events of one sequence, positions:
        [E], visible: [E, E] bool (event i sees event j) -> final-norm hidden [E, hidden]."""
        mask = torch.zeros(1, 1, *visible.shape, dtype=x.dtype, device=x.device)
        mask.masked_fill_(~visible, torch.finfo(x.dtype).min)
        h, position_ids = x[None], positions[None]
        position_embeddings = self.rotary_emb(h, position_ids=position_ids)
        for layer in self.layers:
            h = layer(h, attention_mask=mask, position_ids=position_ids, cache=None,
                      use_cache=False, position_embeddings=position_embeddings)
        return self.norm(h[0])
