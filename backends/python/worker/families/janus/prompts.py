"""Janus conditions -> token ids, for both layouts a Janus directory comes in.

A sequence's ids are the condition block the engine addresses as its one prefix slot:

- transformers' layout (model_type "janus"): as JanusProcessor prepares a prompt for image
  generation: the chat template over one user turn (with the generation prompt), then
  <begin_of_image>, through the tokenizer (which puts BOS first). The unconditional sequence of an
  image is its prompt's ids with every token except BOS and <begin_of_image> replaced by the pad
  token, as `JanusForConditionalGeneration.generate(generation_mode="image")` builds its doubled
  batch.
- DeepSeek's official layout (model_type "multi_modality"): as the official text-to-image example
  builds it: the DeepSeek SFT format with an empty system prompt over one user turn and an empty
  assistant turn, `{User}: {prompt.strip()}\n\n{Assistant}:`, then the image-start tag
  <begin_of_image>, tokenized with BOS first. The roles are `<|User|>` / `<|Assistant|>` (Janus-Pro,
  whose tokenizer has them as tokens) or `User` / `Assistant` (Janus-1.3B). The unconditional row
  is the prompt's ids with all but the first and the last replaced by the pad token
  `<｜▁pad▁｜>`, as the official loop does.

A negative prompt given with the condition replaces the padded prompt (zipar's extension: neither
loop has one) and is used as it tokenizes.
"""

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

from errors import CheckpointError, first_line
from hf_files import load_tokenizer
from safe_template import MAX_TEMPLATE_CHARS, render

PAD_TOKEN = "<｜▁pad▁｜>"  # DeepSeek's pad: fullwidth bars and U+2581
BOI_TOKEN = "<begin_of_image>"
PRO_ROLES = ("<|User|>", "<|Assistant|>")  # Janus-Pro's conversation roles
OLD_ROLES = ("User", "Assistant")  # Janus-1.3B's


@dataclass
class PromptRules:
    """What turns a prompt into ids, read once from the model directory."""
    tokenizer: object  # transformers tokenizer
    template: Optional[str]  # chat template (Jinja): transformers' layout
    roles: Optional[Tuple[str, str]]  # (user, assistant) of the official SFT format
    boi_token: str  # "<begin_of_image>"
    bos_id: int  # kept in unconditional rows
    boi_id: int  # kept too
    pad_id: int  # replaces every other token
    max_prompt: int  # context - image tokens: the longest condition block that fits
    source: str = ""  # where the chat template came from (the model directory), for errors


def load_template(path: str, tokenizer) -> str:
    """The processor's chat template (chat_template.jinja / .json / processor_config.json, as
    JanusProcessor.from_pretrained finds it), else the tokenizer's."""
    from transformers import JanusProcessor
    for name in ("chat_template.jinja", "chat_template.json", "processor_config.json"):
        file = os.path.join(path, name)
        if os.path.isfile(file) and os.path.getsize(file) > 4 * MAX_TEMPLATE_CHARS:
            raise CheckpointError(f"{file}: {os.path.getsize(file)} bytes, more than a chat "
                                  f"template's; use the model's own chat template")
    try:
        processor_dict, _ = JanusProcessor.get_processor_dict(path, local_files_only=True)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: cannot read the processor files "
                              f"({first_line(err)})") from None
    template = processor_dict.get("chat_template") or getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    if isinstance(template, str) and len(template) > MAX_TEMPLATE_CHARS:
        raise CheckpointError(f"{path}: the chat template is {len(template)} characters, more "
                              f"than a template's {MAX_TEMPLATE_CHARS}; use the model's own "
                              f"chat template (chat_template.jinja)")
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
    """The rules of transformers' layout: the processor's chat template, the ids of
    generation_config.json."""
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
    rules = PromptRules(
        tokenizer, template, None, boi_token,
        bos_id=token_id(tokenizer, generation_config.bos_token_id, "bos_token_id", path),
        boi_id=token_id(tokenizer, boi_id, "boi_token_id", path),
        pad_id=token_id(tokenizer, pad, "pad_token_id", path),
        max_prompt=context - image_tokens, source=path)
    template_ids(rules, "a prompt")  # a template that loops or explodes fails here, at load
    return rules


def vocab_id(vocab: dict, token: str, path: str, what: str) -> int:
    """The id of `token`, one whole entry of the tokenizer's vocabulary."""
    if token not in vocab:
        raise CheckpointError(f"{path}: the tokenizer has no {token} ({what}); copy the model's "
                              f"tokenizer.json from its Hugging Face repository")
    return int(vocab[token])


def official_prompt_rules(path: str, tokenizer, context: int, image_tokens: int
                          ) -> PromptRules:
    """The rules of DeepSeek's layout: the official example's SFT string, ids from the vocab."""
    bos = getattr(tokenizer, "bos_token", None)
    if not isinstance(bos, str):
        raise CheckpointError(f"{path}: the tokenizer names no bos_token; copy the model's "
                              f"tokenizer_config.json and special_tokens_map.json")
    vocab = tokenizer.get_vocab()
    pro = all(role in vocab for role in PRO_ROLES)
    return PromptRules(
        tokenizer, None, PRO_ROLES if pro else OLD_ROLES, BOI_TOKEN,
        bos_id=vocab_id(vocab, bos, path, "the begin-of-sentence token"),
        boi_id=vocab_id(vocab, BOI_TOKEN, path, "the image-start tag"),
        pad_id=vocab_id(vocab, PAD_TOKEN, path, "the pad of the unconditional rows"),
        max_prompt=context - image_tokens)


def sft_text(roles: Tuple[str, str], text: str) -> str:
    """The official SFT format of one user turn and an empty assistant turn, system prompt ""."""
    user, assistant = roles
    return f"{user}: {text.strip()}\n\n{assistant}:"


def template_ids(rules: PromptRules, text: str) -> List[int]:
    """The condition block of `text`: BOS, the conversation, <begin_of_image> -> ids."""
    if rules.roles is not None:  # the official example: tokenizer.encode(), BOS first
        body = rules.tokenizer(sft_text(rules.roles, text) + rules.boi_token,
                               add_special_tokens=False).input_ids
        return [rules.bos_id, *body]
    messages = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    rendered = render(rules.template, rules.source, messages=messages,
                      add_generation_prompt=True, **rules.tokenizer.special_tokens_map)
    return list(rules.tokenizer(rendered + rules.boi_token).input_ids)


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
        if unconditional and rules.roles is not None:  # the official loop: all but the ends
            ids = ids[:1] + [rules.pad_id] * (len(ids) - 2) + ids[-1:]
        elif unconditional:
            keep = (rules.bos_id, rules.boi_id)
            ids = [t if t in keep else rules.pad_id for t in ids]
    if len(ids) > rules.max_prompt:
        what = "negative prompt" if unconditional and negative is not None else "prompt"
        raise ValueError(f"the {what} is {len(ids)} tokens with the chat template, but the "
                         f"model's context leaves {rules.max_prompt} beside the image; "
                         f"shorten it")
    return ids
