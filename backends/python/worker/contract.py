"""The cross-language contract, read from the one file the TypeScript engine reads too
(core/contract.json; core/contract.ts is the other side, and core/contract_test.ts checks both
give the same values): the protocol version, the frame and safetensors header caps, the step's
sentinel values, LlamaGen's presets and limits, the image size range and each family's grid facts,
sampling defaults and CFG rule. Read once at import with the standard library.

    python -m contract   -> the values as one JSON line (what the test compares)
"""

import json
import os
import sys

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "core",
                    "contract.json")

with open(PATH, encoding="utf-8") as _f:
    _DATA = json.load(_f)

PROTOCOL_VERSION: int = _DATA["protocolVersion"]
MAX_FRAME_HEADER_BYTES: int = _DATA["maxFrameHeaderBytes"]
MAX_SAFETENSORS_HEADER_BYTES: int = _DATA["maxSafetensorsHeaderBytes"]
QUERY_TOKEN_CONDITION: int = _DATA["queryTokenCondition"]  # a prefix slot's token
PLAN_INPUT_CONDITION: int = _DATA["planInputCondition"]  # a plan input: the condition
PLAN_INPUT_EOL: int = _DATA["planInputEol"]  # a plan input: the model's EOL token
PLAN_PREDICTS_NONE: int = _DATA["planPredictsNone"]  # a query that samples nothing
LLAMAGEN_PRESETS = {name: tuple(p) for name, p in _DATA["llamagenPresets"].items()}
LLAMAGEN_LIMITS: dict = dict(_DATA["llamagenLimits"])  # a LlamaGen directory's caps
IMAGE_SIZE_PX = tuple(_DATA["imageSizePx"])  # (min, max) image side a size may ask for
# Each family's facts: title, grid [H, W], eol, about, sampling defaults (ModelInfo.defaults),
# and a release's per-position CFG rule (ModelInfo.cfgRule) where it has one.
FAMILIES = _DATA["families"]


def family_defaults(name: str) -> dict:
    """A copy of family `name`'s sampling defaults (ModelInfo.defaults)."""
    return dict(FAMILIES[name]["defaults"])


def family_cfg_rule(name: str):
    """A copy of family `name`'s CFG rule (ModelInfo.cfgRule; core/cfg.ts applies it), or None."""
    rule = FAMILIES[name].get("cfgRule")
    return None if rule is None else dict(rule)


def values() -> dict:
    """The contract as this side reads it, in core/contract.json's keys."""
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "maxFrameHeaderBytes": MAX_FRAME_HEADER_BYTES,
        "maxSafetensorsHeaderBytes": MAX_SAFETENSORS_HEADER_BYTES,
        "queryTokenCondition": QUERY_TOKEN_CONDITION,
        "planInputCondition": PLAN_INPUT_CONDITION,
        "planInputEol": PLAN_INPUT_EOL,
        "planPredictsNone": PLAN_PREDICTS_NONE,
        "llamagenPresets": {n: list(p) for n, p in LLAMAGEN_PRESETS.items()},
        "llamagenLimits": LLAMAGEN_LIMITS,
        "imageSizePx": list(IMAGE_SIZE_PX),
        "families": FAMILIES,
    }


def main(argv) -> int:
    print(json.dumps(values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
