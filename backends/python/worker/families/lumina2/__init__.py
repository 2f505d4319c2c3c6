"""The Lumina-mGPT 2.0 family (docs/lumina2.md): Alpha-VLLM/Lumina-mGPT-2.0, a 7B decoder
trained from scratch in Chameleon's architecture (its config.json is model_type "chameleon",
qk-norm per head group, loaded with transformers' ChameleonForConditionalGeneration, local files
only: families/lumina/loading.py), whose image tokens are MoVQGAN codes at fixed ids (vocab.py),
8 px a token: 768 px is 96x96 + an EOL per row.

Everything but the numbers is Lumina-mGPT 1.0's machinery (families/lumina): the prompt
(Lumina's instruction with the image's px size, the turn separator, BOS first, then the image
header zipar writes: image start, height and width tokens counting 32-px patches), CFG's
unconditional half (the header alone), the text-vocabulary session over the slot cache.

ModelInfo: vocab = the codebook V (16,384), eolToken V, one prefix slot, text conditioning,
the grid of --grid / --size / the directory name / 768 px; defaults from the release's
scripts/sample.sh and README (core/contract.json): CFG 4, image top-k 4096, temperature 1.

CFG: the release mixes u + g·(c − u) with g = max(4, g·(1 − n / (H/2 · W/2))) updated at
every position n it generates after the image-start token (inference_solver.py's CFG
processor; n = 2 at cell (0, 0), EOLs counted). The family reports that rule as numbers,
ModelInfo.cfgRule (core/contract.json); the engine's core/cfg.ts cfgScales turns it into a
scale per cell, which interactive steps mix with in TypeScript and plans send to planner.py.

The decoder: MoVQGAN 270M (movqgan_270M.ckpt beside the model, decoder.py).
"""

from typing import Tuple

from contract import family_cfg_rule, family_defaults
from devices import probe
from errors import CheckpointError
from families.family import LoadOptions, decoder_absent, decoder_found
from families.lumina import LuminaModel
from families.lumina.loading import load_model, read_config
from families.lumina.prompts import Release, grid_of, prompt_rules
from hf_files import load_tokenizer

from .decoder import MovqganDecoder, find_movqgan
from .vocab import image_vocab, is_lumina2

NAME = "lumina2"
RELEASE = Release(token_px=8)  # MoVQGAN: 8 px a token, 32-px patches of 4x4 tokens


def accepts(path: str, config) -> bool:
    return is_lumina2(config)


def load_decoder(path: str, device, dtype):
    raise CheckpointError(f"{path}: a Lumina-mGPT 2.0 decoder is the model directory's "
                          f"MoVQGAN; load the model and decode with it (--model DIR)")


class Lumina2(LuminaModel):
    """The family object of one loaded Lumina-mGPT 2.0 model."""

    NAME = NAME
    DEFAULTS = family_defaults(NAME)
    CFG_RULE = family_cfg_rule(NAME)  # the release's decay of g towards 4

    def decoder_status(self) -> dict:
        try:
            find_movqgan(self.path)
        except CheckpointError as err:
            return decoder_absent(str(err))
        return decoder_found("MoVQGAN")

    def decoder(self, options: LoadOptions) -> MovqganDecoder:
        return MovqganDecoder(self.path, options.device, self.context)


def inspect(path: str, options: LoadOptions) -> Tuple[dict, float]:
    family = load(path, options)
    total = sum(p.detach().double().abs().sum().item() for p in family.model.parameters())
    return family.config, float(total)


def load(path: str, options: LoadOptions) -> Lumina2:
    # Everything but the weights first, so a bad directory or size fails fast, in one line.
    tokenizer = load_tokenizer(path)
    config = read_config(path)
    vocab = image_vocab(tokenizer, path, options.device, int(config.vocab_size))
    rules = prompt_rules(path, tokenizer, vocab, grid_of(path, options.grid, options.size,
                                                         RELEASE),
                         int(config.max_position_embeddings), RELEASE)
    probe(options.device, options.dtype, "matmuls")
    return Lumina2(path, load_model(path, options), vocab, rules, options)
