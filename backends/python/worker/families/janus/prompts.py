"""Janus conditions -> token ids: the model's own tokenizer and chat template, as
JanusProcessor prepares a prompt for image generation, and the CFG rule of transformers' loop.

A sequence's ids are the condition block the engine addresses as its one prefix slot:
chat template over one user turn (with the generation prompt), then <begin_of_image>, through
the tokenizer (which puts BOS first). The unconditional sequence of an image is its prompt's
ids with every token except BOS and <begin_of_image> replaced by the pad token, as
`JanusForConditionalGeneration.generate(generation_mode="image")` builds its doubled batch; a
negative prompt given with the condition replaces that padded prompt (zipar's extension: the
peer has none) and is used as it tokenizes.
"""

from dataclasses import dataclass
from typing import List, Optional

from errors import CheckpointError, first_line
from hf_files import load_tokenizer


@dataclass
class PromptRules:
    """What turns a prompt into ids, read once from the model directory."""
    tokenizer: object  # transformers tokenizer
    template: str  # chat template (Jinja)
    boi_token: str  # "<begin_of_image>"
    bos_id: int  # generation_config.bos_token_id: kept in unconditional rows
    boi_id: int  # generation_config.generation_kwargs["boi_token_id"]: kept too
    pad_id: int  # generation_config.pad_token_id: replaces every other token
    max_prompt: int  # context - image tokens: the longest condition block that fits


def load_template(path: str, tokenizer) -> str:
    """The processor's chat template (chat_template.jinja / .json / processor_config.json, as
    JanusProcessor.from_pretrained finds it), else the tokenizer's."""
    from transformers import JanusProcessor
    try:
        processor_dict, _ = JanusProcessor.get_processor_dict(path, local_files_only=True)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: cannot read the processor files "
                              f"({first_line(err)})") from None
    template = processor_dict.get("chat_template") or getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    if not isinstance(template, str) or not template:
        raise CheckpointError(f"{path}: no chat template (chat_template.jinja); copy the "
                              f"model's processor files from its Hugging Face repository")
    return template


def token_id(tokenizer, value, name: str, path: str) -> int:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{path}: generation_config.json has no {name}; copy the "
                              f"model's generation_config.json into the directory")
    return value


def prompt_rules(path: str, generation_config, context: int, image_tokens: int
                 ) -> PromptRules:
    tokenizer = load_tokenizer(path)
    template = load_template(path, tokenizer)
    boi_token = getattr(tokenizer, "boi_token", None)
    if not isinstance(boi_token, str):
        raise CheckpointError(f"{path}: the tokenizer names no boi_token (<begin_of_image>); "
                              f"copy the model's tokenizer_config.json into the directory")
    kwargs = getattr(generation_config, "generation_kwargs", None) or {}
    boi_id = kwargs.get("boi_token_id", tokenizer.convert_tokens_to_ids(boi_token))
    pad = generation_config.pad_token_id
    if pad is None:  # transformers' _prepare_special_tokens falls back to EOS
        pad = generation_config.eos_token_id
    return PromptRules(
        tokenizer, template, boi_token,
        bos_id=token_id(tokenizer, generation_config.bos_token_id, "bos_token_id", path),
        boi_id=token_id(tokenizer, boi_id, "boi_token_id", path),
        pad_id=token_id(tokenizer, pad, "pad_token_id", path),
        max_prompt=context - image_tokens)


def template_ids(rules: PromptRules, text: str) -> List[int]:
    """Chat template + <begin_of_image> -> ids (BOS first, from the tokenizer)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    messages = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    rendered, _ = render_jinja_template(conversations=[messages], chat_template=rules.template,
                                        add_generation_prompt=True,
                                        **rules.tokenizer.special_tokens_map)
    return list(rules.tokenizer(rendered[0] + rules.boi_token).input_ids)


def check_text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a {what} is a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"empty {what}: give a text {what} (Janus conditions on text)")
    return value


def sequence_ids(rules: PromptRules, condition, unconditional: bool) -> List[int]:
    """One sequence's condition block: {prompt, negativePrompt?} -> ids, checked to fit."""
    if not isinstance(condition, dict) or "prompt" not in condition:
        raise ValueError(f"Janus conditions on a text prompt ({{prompt: TEXT}}), got "
                         f"{condition!r}; pass --prompt instead of --class")
    prompt = check_text(condition["prompt"], "prompt")
    negative: Optional[str] = condition.get("negativePrompt")
    if negative is not None:
        negative = check_text(negative, "negative prompt")
    if unconditional and negative is not None:
        ids = template_ids(rules, negative)
    else:
        ids = template_ids(rules, prompt)
        if unconditional:
            keep = (rules.bos_id, rules.boi_id)
            ids = [t if t in keep else rules.pad_id for t in ids]
    if len(ids) > rules.max_prompt:
        what = "negative prompt" if unconditional and negative is not None else "prompt"
        raise ValueError(f"the {what} is {len(ids)} tokens with the chat template, but the "
                         f"model's context leaves {rules.max_prompt} beside the image; "
                         f"shorten it")
    return ids
