"""A transformers decoder stack (Llama-like: embed_tokens, layers, norm, rotary_emb) driven by
zipar's rows, masks and slot KV cache, for the Hugging Face families (Janus, Emu3,
Lumina-mGPT's Chameleon).

A step is a batch of rows, each writing one absolute position of one sequence (a prompt token
of a condition block, or an image-part token). The layers' weights are read once at load into
the decoder-layer step every family shares (decoder_layers.py: q/k/v and gate/up fused into one
matrix each, whose slices the modules' own parameters then become, so no weight is held twice),
and RoPE comes from the model's own rotary embedding at the rows' absolute positions.

A text model whose layers are not that plain form (biases, another activation, Chameleon's
swin_norm order, tensor-parallel slices) runs transformers' own layers instead: every layer
called with the step's 4-D additive mask and a cache object whose update() writes the rows'
K/V into the slot cache and returns the whole K/V, with attention in slot_attention (registered
with transformers' AttentionInterface, switched on only for zipar's steps), which folds the
query heads of each K/V head into its query rows instead of repeating the cache. The tests'
no-cache reference (testing/python/references/prompt.py) runs transformers' layers too, without
a cache.
"""

import inspect
from contextlib import contextmanager
from typing import List, Optional

import torch
import torch.nn.functional as F

from decoder_layers import DecoderLayers, LayerWeights, RopeStep, StackSpec
from kv_cache import SlotKVCache
from protocol import log
from step_index import StepIndex
from step_profile import LAYER, scope

SLOT_ATTENTION = "zipar_slot"


def slot_attention(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor, scaling=None, dropout: float = 0.0,
                   **kwargs):
    """transformers' attention-function signature. query: [U, heads, m, hd]; key, value:
    [U, kv_heads, S, hd] (the cache itself, never copied); attention_mask: [U, 1, rep * m, S]
    additive, already repeated over the rep = heads / kv_heads query heads of a K/V head
    (SlotKVCache.step_mask) -> out [U, m, heads, hd], None."""
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
        ix = self.ix
        rows = torch.stack([key_states, value_states], dim=1)  # [U, 2, kvh, m, hd]
        rows = rows.permute(0, 3, 1, 2, 4)[ix.group, ix.rank]  # [n, 2, kvh, hd]
        self.cache.write(layer_idx, rows, ix)
        kv = self.cache.kv[layer_idx]
        kv = kv if ix.useq is None else kv[:, ix.useq]
        return kv[0], kv[1]


def _cache_keyword(layer) -> str:
    """The keyword transformers' attention takes its cache by: `cache` (5.24), or
    `past_key_values` (older releases, 5.17 among them)."""
    params = inspect.signature(layer.self_attn.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _norm_weight(module) -> Optional[torch.Tensor]:
    """An RMSNorm's weight (Llama's, Emu3's, Chameleon's), or None for another norm."""
    if type(module).__name__.endswith("RMSNorm") and hasattr(module, "weight"):
        return module.weight.detach()
    return None


def _linear(module, bias_ok: bool = False) -> Optional[torch.Tensor]:
    if not isinstance(module, torch.nn.Linear) or (module.bias is not None and not bias_ok):
        return None
    return module.weight


def fuse(modules: List[torch.nn.Linear]) -> torch.Tensor:
    """One matrix of the modules' weights stacked by rows; each module's weight becomes its
    slice (a view), so the model holds each weight once and its own forward still works."""
    fused = torch.cat([m.weight.detach() for m in modules])
    start = 0
    for m in modules:
        rows = m.weight.shape[0]
        m.weight = torch.nn.Parameter(fused[start:start + rows], requires_grad=False)
        start += rows
    return fused


def plain_form(layers, config) -> Optional[str]:
    """None when every layer is the plain pre-norm Llama form decoder_layers.py runs, else
    why not (one phrase)."""
    if getattr(config, "swin_norm", False):
        return "swin_norm"
    if getattr(config, "hidden_act", "silu") != "silu":
        return f"activation {config.hidden_act}"
    if int(getattr(config, "pretraining_tp", 1) or 1) != 1:
        return "pretraining_tp"
    for layer in layers:
        attn, mlp = layer.self_attn, layer.mlp
        projections = [getattr(attn, n, None) for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
        projections += [getattr(mlp, n, None) for n in ("gate_proj", "up_proj", "down_proj")]
        if any(_linear(p) is None for p in projections):
            return "biases or unfused projections"
        if _norm_weight(layer.input_layernorm) is None or \
                _norm_weight(layer.post_attention_layernorm) is None:
            return "another norm"
        if hasattr(attn, "q_norm") != hasattr(attn, "k_norm"):
            return "a q norm without a k norm"
    return None


class HFDecoder:
    """The decoder stack of a loaded transformers text model (LlamaModel-like)."""

    def __init__(self, text_model, text_config):
        self.embed_tokens, self.layers = text_model.embed_tokens, text_model.layers
        self.norm, self.rotary_emb = text_model.norm, text_model.rotary_emb
        self.num_layers = int(text_config.num_hidden_layers)
        self.heads = int(text_config.num_attention_heads)
        self.kv_heads = int(getattr(text_config, "num_key_value_heads", None) or self.heads)
        self.head_dim = int(getattr(text_config, "head_dim", None)
                            or text_config.hidden_size // self.heads)
        self.hidden = int(text_config.hidden_size)
        self.dtype = text_model.embed_tokens.weight.dtype
        self.device = text_model.embed_tokens.weight.device
        self.rep = self.heads // self.kv_heads  # query heads per K/V head
        # The configs the attention modules read their implementation from (copies of
        # text_config, as _from_config makes them).
        configs = {id(layer.self_attn.config): layer.self_attn.config for layer in self.layers}
        self.attention_configs = list(configs.values())
        self.cache_keyword = _cache_keyword(self.layers[0])
        self.fused = self._fuse(text_config)

    def _fuse(self, config) -> Optional[DecoderLayers]:
        """The layers as decoder_layers.py runs them, or None (transformers' layers)."""
        why = plain_form(self.layers, config)
        if why is not None:
            log(f"note: this model's layers have {why}; zipar runs transformers' own layers "
                f"(more kernels a step)")
            return None
        eps = getattr(self.layers[0].input_layernorm, "variance_epsilon",
                      getattr(self.layers[0].input_layernorm, "eps", None))
        if eps is None:
            return None
        spec = StackSpec(self.heads, self.kv_heads, self.head_dim, float(eps), "half")
        stack = []
        for layer in self.layers:
            a, m = layer.self_attn, layer.mlp
            qk_norm = None
            if hasattr(a, "q_norm"):
                qk_norm = (torch.cat([a.q_norm.weight, a.k_norm.weight]).detach(),
                           torch.cat([a.q_norm.bias, a.k_norm.bias]).detach())
            stack.append(LayerWeights(
                attn_norm=_norm_weight(layer.input_layernorm),
                wqkv=fuse([a.q_proj, a.k_proj, a.v_proj]), wo=a.o_proj.weight.detach(),
                ffn_norm=_norm_weight(layer.post_attention_layernorm),
                w13=fuse([m.gate_proj, m.up_proj]), w2=m.down_proj.weight.detach(),
                qk_norm=qk_norm))
        return DecoderLayers(spec, stack, self.norm.weight.detach())

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
        if self.fused is not None:
            cos, sin = self.rotary_emb(x, position_ids=ix.pos[None])  # [1, n, hd] each
            rope = RopeStep(self.fused.spec, x.shape[0], cos=cos[0], sin=sin[0])
            return self.fused.step(cache, x, ix, rope)
        return self.step_layers(cache, x, ix)

    def step_layers(self, cache: SlotKVCache, x: torch.Tensor, ix: StepIndex) -> torch.Tensor:
        """step() through transformers' own layers, rows grouped by sequence ([U, m])."""
        mask = cache.step_mask(ix, self.rep)  # [U, 1, rep * m, S] additive
        h = x.new_zeros(ix.num_groups, ix.width, self.hidden)
        h[ix.group, ix.rank] = x  # [U, m, hidden]
        position_ids = ix.pos_pad.clamp(min=0)  # [U, m]; padding rows at 0, never kept
        position_embeddings = self.rotary_emb(h, position_ids=position_ids)
        extra = {self.cache_keyword: StepCache(cache, ix)}
        with self.slot_attention():
            for layer in self.layers:
                with scope(LAYER):
                    h = hidden_of(layer(h, attention_mask=mask, position_ids=position_ids,
                                        use_cache=True, position_embeddings=position_embeddings,
                                        **extra))
        rows = h[ix.group, ix.rank]  # [n, hidden]
        return self.norm(rows[ix.want])
