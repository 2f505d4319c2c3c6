"""The Janus family's condition blocks for a list of conditions, as the worker builds them
(families/janus/prompts.py: the same prompt rules the family loads, and sequence_ids): the
oracle that backends/janus_prompt.ts, the TypeScript side, is held to. The rules are built
from the directory's tokenizer and configs alone (not its weights), and with a context no
prompt fills: the ids are compared, not whether they fit beside the image. Usage:

    python -m janus_prompt_ids DIR CONDITIONS.json -> one JSON line: [[ids, unconditional ids], …]
"""

import json
import sys

from families.janus import layout_of
from families.janus.prompts import official_prompt_rules, prompt_rules, sequence_ids
from hf_files import load_tokenizer

ANY_CONTEXT = 1 << 30


def rules_of(path: str):
    if layout_of(path) == "official":
        return official_prompt_rules(path, load_tokenizer(path), ANY_CONTEXT, 0)
    from transformers import GenerationConfig
    generation = GenerationConfig.from_pretrained(path, local_files_only=True)
    return prompt_rules(path, generation, ANY_CONTEXT, 0)


def main(argv) -> int:
    path, conditions_file = argv
    with open(conditions_file, encoding="utf-8") as f:
        conditions = json.load(f)
    rules = rules_of(path)
    print(json.dumps([[sequence_ids(rules, c, False), sequence_ids(rules, c, True)]
                      for c in conditions]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
