"""A small trained byte-level BPE in the shape of DeepSeek's (Janus's) tokenizer.json: a
Sequence pre-tokenizer of regex Splits (newlines isolated, letter runs with an optional leading
space, punctuation runs, CJK runs, trailing whitespace), single digits, then ByteLevel without
its own regex; real merges, trained here on a small multilingual text; Janus's special tokens
and roles added; BOS put first by the post-processor. Written over a tiny Janus directory's
tokenizer.json (the special tokens keep their strings, so the directory's ids still name them),
it gives the TypeScript tokenizer (backends/janus_prompt.ts) merges and splits to agree on.
The regexes are zipar's own, written for this test; they exercise the same components.

    python -m tiny_models.bpe_tokenizer DIR
"""

import os
import sys

from tiny_models.janus import ROLES, SPECIAL

CORPUS = [
    "a red fox in the snow, oil painting of a small blue bird on a wooden fence at dawn",
    "the quick brown fox jumps over the lazy dog 1234567890 times",
    "café crème brûlée naïve façade résumé coöperate",
    "東京タワーの夜景 ネオンの光 北京 上海 深圳 中文 日本語",
    "한국어 프롬프트 고양이 강아지 Ελληνικά γάτα φεγγάρι Русский кот",
    "emoji 🦊🌨️👩‍🚀 math ∑ ∫ √ ∞ ≠ ≤ ≥ quotes \"double\" 'single'",
    "json {\"key\": [1, 2, 3]} punctuation !?.,;:-_()[]{}<>@#$%^&*+=|~",
    "line one\nline two\r\nline three\ttabbed   spaced",
] * 20


def build():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers import trainers

    tok = Tokenizer(models.BPE())
    split = lambda pattern: pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        split(r"[\r\n]"),
        split(r"\s?\p{L}+"),
        split(r"\s?[!-/:-@\[-`{-~]+"),
        split(r"[\u4e00-\u9fa5\u3040-\u30ff\uac00-\ud7a3]+"),
        split(r"\s+$"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = list(SPECIAL.values()) + ROLES
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    bos = SPECIAL["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tok.token_to_id(bos))])
    return tok


def main(argv) -> int:
    (out,) = argv
    build().save(os.path.join(out, "tokenizer.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
