"""A transformers decoder stack (Llama-like: embed_tokens, layers, norm, rotary_emb) driven by
zipar's rows, masks and slot KV cache, for the Hugging Face families (Janus, Emu3,
Lumina-mGPT's Chameleon).

A step is a batch of rows, each writing one absolute position of one sequence (a prompt token
of a condition block, or an image-part token). The rows are grouped by sequence ([U, m],
padded); every decoder layer is called with a 4-D additive mask built from the cache's written
mask (a row sees the written positions <= its own; unwritten positions are masked, never zero
keys; padding rows get a finite mask) and RoPE at the rows' absolute positions, and with a
cache object whose update() scatters the rows' K/V into their positions and returns the whole
K/V of the touched sequences, which is what the model's attention attends over (transformers
5.24's LlamaAttention: `cache.update(key_states, value_states, self.layer_idx,
kwargs=kwargs)`).

The attention itself is slot_attention (registered with transformers' AttentionInterface and
switched on only for zipar's steps): it reads the cache where it lies. transformers' sdpa path
repeats the K/V heads of grouped-query attention (`repeat_kv`) whenever a step has more than
one query per sequence and a mask, i.e. copies the whole cache of every layer on every ZipAR
step; slot_attention folds the query heads of each K/V head into its query rows instead
([U, heads, m, hd] -> [U, kv_heads, rep * m, hd]) and repeats only the mask, once a step.
"""

from contextlib import contextmanager

import torch
import torch.nn.functional as F

from kv_cache import SlotKVCache
from step_index import StepIndex

SLOT_ATTENTION = "zipar_slot"


def slot_attention(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor, scaling=None, dropout: float = 0.0,
                   **kwargs):
    """transformers' attention-function signature. query: [U, heads, m, hd]; key, value:
    [U, kv_heads, S, hd] (the cache itself, never copied); attention_mask: [U, 1, rep * m, S]
    additive, already repeated over the rep = heads / kv_heads query heads of a K/V head
    (HFDecoder.step) -> out [U, m, heads, hd], None."""
    u, heads, m, hd = query.shape
    kv = key.shape[1]
    q = query.reshape(u, kv, (heads // kv) * m, hd)  # head h = g * rep + r -> group g, row r*m+i
    out = F.scaled_dot_product_attention(q, key, value, attn_mask=attention_mask, scale=scaling)
    return out.view(u, heads, m, hd).transpose(1, 2).contiguous(), None


def _register():
    from transformers import AttentionInterface
    AttentionInterface.register(SLOT_ATTENTION, slot_attention)


_register()


def hidden_of(out) -> torch.Tensor:
    """A decoder layer's hidden states: Llama's layers return them, Chameleon's a tuple."""
    return out[0] if isinstance(out, tuple) else out


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
        self.rep = int(text_config.num_attention_heads) // self.kv_heads  # query heads per K/V
        # The configs the attention modules read their implementation from (copies of
        # text_config, as _from_config makes them).
        configs = {id(layer.self_attn.config): layer.self_attn.config for layer in self.layers}
        self.attention_configs = list(configs.values())

    @contextmanager
    def slot_attention(self):
        """The layers use slot_attention inside, the model's own implementation after."""
        saved = [c._attn_implementation for c in self.attention_configs]
        for c in self.attention_configs:
            c._attn_implementation_internal = SLOT_ATTENTION
        try:
            yield
        finally:
            for c, name in zip(self.attention_configs, saved):
                c._attn_implementation_internal = name

    def new_cache(self, num_seqs: int, capacity: int, offset) -> SlotKVCache:
        return SlotKVCache(self.num_layers, num_seqs, self.kv_heads, self.head_dim, capacity,
                           self.dtype, self.device, offset)

    def step(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """x: [n, hidden] row inputs -> the final-norm hidden states [len(ix.want), hidden]
        of the rows whose logits are wanted, in row order."""
        hidden_mask = cache.mark_written(ix)  # [U, 1, m, S] bool: True = not visible
        u, _, m, capacity = hidden_mask.shape
        hidden_mask = hidden_mask.expand(u, self.rep, m, capacity)  # the rep heads of a K/V
        mask = torch.zeros((u, 1, self.rep * m, capacity), dtype=self.dtype, device=self.device)
        mask.masked_fill_(hidden_mask.reshape(u, 1, self.rep * m, capacity),
                          torch.finfo(self.dtype).min)  # [U, 1, rep * m, S] additive
        h = x.new_zeros(ix.num_groups, ix.width, self.hidden)
        h[ix.group, ix.rank] = x  # [U, m, hidden]
        position_ids = ix.pos_pad.clamp(min=0)  # [U, m]; padding rows at 0, never kept
        position_embeddings = self.rotary_emb(h, position_ids=position_ids)
        step_cache = StepCache(cache, ix)
        with self.slot_attention():
            for layer in self.layers:
                h = hidden_of(layer(h, attention_mask=mask, position_ids=position_ids,
                                    cache=step_cache, use_cache=True,
                                    position_embeddings=position_embeddings))
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
            h = hidden_of(layer(h, attention_mask=mask, position_ids=position_ids, cache=None,
                                use_cache=False, position_embeddings=position_embeddings))
        return self.norm(h[0])
