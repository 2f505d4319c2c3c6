"""The Janus family's condition blocks for a list of conditions, as the worker builds them
(families/janus/prompts.py's sequence_ids over the loaded family's rules): the oracle that
backends/janus_prompt.ts, the TypeScript side, is held to. Usage:

    python -m janus_prompt_ids DIR CONDITIONS.json -> one JSON line: [[ids, unconditional ids], …]
"""

import json
import sys

import torch

import families
from families.family import LoadOptions
from families.janus.prompts import sequence_ids


def main(argv) -> int:
    path, conditions_file = argv
    with open(conditions_file, encoding="utf-8") as f:
        conditions = json.load(f)
    family = families.load_family(path, LoadOptions(torch.device("cpu"), torch.float32))
    # The ids are compared, not whether they fit the tiny model's context beside its image.
    family.rules.max_prompt = 1 << 30
    out = [[sequence_ids(family.rules, c, False), sequence_ids(family.rules, c, True)]
           for c in conditions]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
