"""Emu3-Gen's official tokenizer, read without its remote code: `emu3.tiktoken` (one regular
token a line: its bytes in base64, a space, its rank) and `emu3_vision_tokens.txt` (the vision
special tokens, one a line), through the `tiktoken` library the release's own tokenizer uses.

The ids, as BAAI's Emu3Tokenizer numbers them: the ranks first (0..N-1; 151,643 of them in
Emu3-Gen), then from N the special tokens `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`,
`<|extra_0|>` .. `<|extra_204|>`, then the lines of emu3_vision_tokens.txt in file order
(`<|image token|>`, `<|image start|>`, `<|image end|>`, `<|visual token 000000|>` ..). Text is
NFC-normalised and split with Qwen's pattern (every digit its own piece), and special tokens
written in the text become their ids (`allowed_special="all"`); nothing is added around it.

Both files are untrusted: their sizes are capped before reading, every line is checked, the
ranks must run 0..N-1 once each, and a failure is one line naming the file and the fix.
"""

import base64
import binascii
import os
import unicodedata
from typing import Dict, List

from errors import CheckpointError

RANKS_FILE = "emu3.tiktoken"
VISION_FILE = "emu3_vision_tokens.txt"
MAX_RANKS_BYTES = 64 << 20  # Emu3-Gen's is 2.6 MB
MAX_VISION_BYTES = 16 << 20  # Emu3-Gen's is 0.8 MB
MAX_TOKEN_BYTES = 1024
# Qwen's pre-tokenizer pattern, as Emu3's tokenization_emu3.py has it.
PAT_STR = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"""
           r"""[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
EXTRAS = 205  # <|extra_0|> .. <|extra_204|>
FIX = "download the model's tokenizer files (emu3.tiktoken, emu3_vision_tokens.txt) again"


def read_capped(path: str, cap: int) -> bytes:
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: missing; {FIX}")
    size = os.path.getsize(path)
    if size > cap:
        raise CheckpointError(f"{path}: {size} bytes, more than a tokenizer file's {cap}; {FIX}")
    with open(path, "rb") as f:
        return f.read()


def read_ranks(path: str) -> Dict[bytes, int]:
    """emu3.tiktoken -> {token bytes: rank}, ranks 0..N-1 once each."""
    ranks: Dict[bytes, int] = {}
    for number, line in enumerate(read_capped(path, MAX_RANKS_BYTES).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError("not two fields")
            token = base64.b64decode(parts[0], validate=True)
            rank = int(parts[1])
        except (ValueError, binascii.Error):
            raise CheckpointError(f"{path}: line {number} is not `BASE64 RANK`; this is not a "
                                  f"tiktoken file: {FIX}") from None
        if not token or len(token) > MAX_TOKEN_BYTES or token in ranks:
            raise CheckpointError(f"{path}: line {number} holds an empty, overlong or repeated "
                                  f"token; {FIX}")
        ranks[token] = rank
    if not ranks or sorted(ranks.values()) != list(range(len(ranks))):
        raise CheckpointError(f"{path}: the ranks do not run 0..{len(ranks) - 1} once each; "
                              f"{FIX}")
    return ranks


def read_vision_tokens(path: str) -> List[str]:
    try:
        text = read_capped(path, MAX_VISION_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not UTF-8 text; {FIX}") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names or any(not (n.startswith("<|") and n.endswith("|>")) or len(n) > 64
                        for n in names):
        raise CheckpointError(f"{path}: not a list of <|…|> token names, one a line; {FIX}")
    return names


class OfficialTokenizer:
    """Emu3's tiktoken tokenizer with the attribute names zipar's Emu3 family and transformers'
    generate helpers read (bos_token, boi_token, image_wrapper_token, pad_token_id …)."""

    def __init__(self, path: str):
        import tiktoken

        ranks = read_ranks(os.path.join(path, RANKS_FILE))
        vision = read_vision_tokens(os.path.join(path, VISION_FILE))
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>",
                    *(f"<|extra_{i}|>" for i in range(EXTRAS)), *vision]
        if len(set(specials)) != len(specials):
            raise CheckpointError(f"{os.path.join(path, VISION_FILE)}: names a token twice or a "
                                  f"reserved one; {FIX}")
        start = len(ranks)
        self.special_ids = {name: start + i for i, name in enumerate(specials)}
        self.vocab_size = start + len(specials)
        try:
            self.encoding = tiktoken.Encoding("Emu3", pat_str=PAT_STR, mergeable_ranks=ranks,
                                              special_tokens=self.special_ids)
        except Exception as err:  # noqa: BLE001 - a file tiktoken refuses is one line
            raise CheckpointError(f"{os.path.join(path, RANKS_FILE)}: tiktoken cannot use it "
                                  f"({type(err).__name__}); {FIX}") from None
        self.bos_token, self.eos_token = "<|extra_203|>", "<|extra_204|>"
        self.pad_token, self.eol_token, self.eof_token = "<|endoftext|>", "<|extra_200|>", \
            "<|extra_201|>"
        self.boi_token, self.eoi_token = "<|image start|>", "<|image end|>"
        self.image_wrapper_token = "<|image token|>"
        for name in (self.boi_token, self.eoi_token, self.image_wrapper_token):
            if name not in self.special_ids:
                raise CheckpointError(f"{os.path.join(path, VISION_FILE)}: has no {name}; {FIX}")
        for attr in ("bos", "eos", "pad", "eof", "boi", "eoi", "image_wrapper"):
            setattr(self, f"{attr}_token_id", self.special_ids[getattr(self, f"{attr}_token")])
        self.unk_token_id = None

    def encode(self, text: str, return_tensors=None):
        """NFC, then tiktoken with every special token allowed -> ids (a [1, n] tensor with
        return_tensors="pt", as transformers' tokenizers give)."""
        ids = self.encoding.encode(unicodedata.normalize("NFC", text), allowed_special="all",
                                   disallowed_special=())
        if return_tensors == "pt":
            import torch
            return torch.tensor([ids])
        return ids

    def convert_tokens_to_ids(self, name: str):
        return self.special_ids.get(name)

    def vocabulary_map(self) -> Dict[str, int]:
        """The special tokens' ids by name: what transformers' Emu3 reads from vocabulary_map
        (the visual tokens and <|extra_200|>)."""
        return dict(self.special_ids)
