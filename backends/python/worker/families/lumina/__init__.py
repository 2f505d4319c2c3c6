"""The Lumina-mGPT family (docs/lumina.md): a Hugging Face Chameleon directory (config.json of
model_type "chameleon" with its vocabulary_map, safetensors, tokenizer files), loaded with
transformers' ChameleonForConditionalGeneration, local files only (loading.py: Lumina's
qk-norm layout), plus Chameleon's VQGAN files for decoding (decoder.py).

transformers' Chameleon cannot generate images: its forward sets the image tokens' logits to
-inf and it ships only the VQ encoder. zipar runs the model's own decoder layers (qk-norm
included) over the slot KV cache (hf_decoder.py) and takes the LM head's logits of the image
codebook only (text_vocab_session.py: the IMGIMG tokens, vocab.py), as Lumina-mGPT samples.

ModelInfo: the grid of the hello or the directory's size (prompts.grid_of: 48x48 for 768 px),
an EOL slot after every row (Lumina's new-line token), vocab = the codebook V (8192), eolToken
V, conditioning "text", one prefix slot (the condition block: Lumina's instruction + image
header, prompts.py), numClasses 0, defaults CFG 3 and image top-k 2000 (Lumina's
create_logits_processor; its README's example uses CFG 4), temperature 1 as its scripts.
transformers_loop.py runs Lumina's own sampling rules on transformers' generate for the
bench's reference row.
"""

import os
from typing import List, Tuple

import torch

from contract import family_defaults
from devices import probe
from errors import CheckpointError
from families.family import LoadOptions, decoder_absent, decoder_found
from hf_decoder import HFDecoder
from hf_files import load_tokenizer
from prompt_session import prompt_steps, sequences_for
from text_vocab_session import head_rows, text_vocab_heads

from .decoder import LuminaDecoder, find_files
from .loading import load_model, read_config
from .prompts import grid_of, prompt_rules
from .session import LuminaSession
from .transformers_loop import lumina_generate
from .vocab import NEW_LINE, image_vocab

NAME = "lumina"
MODEL_TYPE = "chameleon"
DEFAULTS = family_defaults(NAME)  # core/contract.json: CFG 3, top-k 2000, T 1


def accepts(path: str, config) -> bool:
    return isinstance(config, dict) and config.get("model_type") == MODEL_TYPE


def load_decoder(path: str, device, dtype):
    raise CheckpointError(f"{path}: a Lumina-mGPT decoder is the model directory's VQGAN; "
                          f"load the model and decode with it (--model DIR)")


class LuminaModel:
    """A loaded Lumina-mGPT model of either release (1.0 here, 2.0 in families/lumina2): a
    Chameleon decoder over the slot cache whose image tokens are vocabulary entries, an EOL slot
    after every row, Lumina's prompt rules. A release's class names itself (NAME, DEFAULTS) and
    its decoder."""

    NAME = NAME
    DEFAULTS = DEFAULTS
    CFG_RULE = None  # a release's per-position CFG scale (ModelInfo.cfgRule), if it has one

    def __init__(self, path: str, model, vocab, rules, options: LoadOptions):
        self.path, self.model, self.vocab, self.rules = path, model, vocab, rules
        self.device, self.dtype = options.device, options.dtype
        config = model.config
        self.context = int(config.max_position_embeddings)
        self.height, self.width = rules.height, rules.width
        self.decoder_stack = HFDecoder(model.model, config)
        # [V, hidden]: the LM head's rows of the image tokens, in codebook order
        self.image_head = head_rows(model.lm_head.weight, self.vocab.image_ids)
        self.embed_image, self.image_logits = text_vocab_heads(
            self.decoder_stack, self.vocab.image_ids, self.vocab.id(NEW_LINE), self.image_head)
        self.steps = prompt_steps(self.decoder_stack, self.embed_image, self.image_logits)
        self.num_slots = 1 + self.height * (self.width + 1)  # core/layout with eol
        self.info = {"name": os.path.basename(os.path.normpath(path)) or self.NAME,
                     "family": self.NAME, "vocab": self.vocab.size, "height": self.height,
                     "width": self.width, "prefix": 1, "eolToken": self.vocab.eol_token,
                     "numClasses": 0, "conditioning": "text", "defaults": dict(self.DEFAULTS),
                     **({"cfgRule": dict(self.CFG_RULE)} if self.CFG_RULE else {})}
        self.config = {"family": self.NAME, "modelType": config.model_type,
                       "layers": int(config.num_hidden_layers),
                       "hidden": int(config.hidden_size),
                       "heads": int(config.num_attention_heads),
                       "kvHeads": int(config.num_key_value_heads), "context": self.context,
                       "textVocab": int(config.vocab_size), "imageTokens": self.vocab.size,
                       "eolTokenId": self.vocab.id(NEW_LINE), "imageHeader": self.rules.header,
                       "swinNorm": bool(config.swin_norm), "dtype": options.dtype_name}

    def conditions_for(self, images: List[dict], cfg_scale: float) -> List[dict]:
        return sequences_for(images, cfg_scale)

    def open(self, sequences: List) -> LuminaSession:
        return LuminaSession(self, sequences)


class Lumina(LuminaModel):
    """The family object of one loaded Lumina-mGPT (1.0) model."""

    def __init__(self, path: str, model, vocab, rules, options: LoadOptions):
        super().__init__(path, model, vocab, rules, options)
        self.vq_config = model.config.vq_config.to_dict()

    def decoder_status(self) -> dict:
        try:
            find_files(self.path)
        except CheckpointError as err:
            return decoder_absent(str(err))
        return decoder_found("Chameleon VQGAN")

    def decoder(self, options: LoadOptions) -> LuminaDecoder:
        return LuminaDecoder(self.path, self.vq_config, options.device, self.context)

    def transformers_generate(self, images: List[dict], cfg_scale: float, sampling: dict):
        """Lumina-mGPT's sampling rules on transformers' generate (transformers_loop.py), each
        image alone as Lumina's loop runs -> grids [B, H, W] int32 (the bench's reference row)."""
        session = self.open(self.conditions_for(images, cfg_scale))
        session.close()
        b = len(images)
        grids = []
        for i in range(b):
            unconditional = session.input_ids[b + i] if cfg_scale != 1 else None
            grids.append(lumina_generate(self.model, session.input_ids[i], unconditional,
                                         self.height, self.width, cfg_scale, sampling))
        return torch.stack(grids).numpy()


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    family = load(path, options)
    total = sum(p.detach().double().abs().sum().item() for p in family.model.parameters())
    return family.config, float(total)


def load(path: str, options: LoadOptions) -> Lumina:
    # Everything but the weights first, so a bad directory or size fails fast, in one line.
    tokenizer = load_tokenizer(path)
    config = read_config(path)
    vocab = image_vocab(config.vocabulary_map, tokenizer, int(config.vq_config.num_embeddings),
                        path, options.device, int(config.vocab_size))
    rules = prompt_rules(path, tokenizer, vocab, grid_of(path, options.grid, options.size),
                         int(config.max_position_embeddings))
    probe(options.device, options.dtype, "matmuls")
    return Lumina(path, load_model(path, options), vocab, rules, options)
