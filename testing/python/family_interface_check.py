"""Check families/family.py's interface as the worker enforces it. Usage:
python -m family_interface_check -> one JSON line: the family modules that pass check_module,
the one-line refusals of a module and of a loaded family object that lack a piece, and the
family folders beside the registry's names and core/contract.json's."""

import json
import os
import sys
import types

import families
from contract import FAMILIES as CONTRACT_FAMILIES
from families.family import FAMILY_MEMBERS, check_family, check_module


def refusal(fn) -> str:
    try:
        fn()
    except TypeError as err:
        return str(err)
    return ""


def main(argv) -> int:
    checked = [families.module(name).__name__ for name in families.FAMILIES]
    bare = types.ModuleType("families.bare")
    bare.accepts = bare.load = bare.load_decoder = lambda *a: None  # no inspect
    family = types.SimpleNamespace(**{n: None for n in FAMILY_MEMBERS if n != "steps"})
    family.info = {"name": "x", "family": "x", "vocab": 1, "height": 1, "width": 1,
                   "prefix": 1, "eolToken": None, "numClasses": 1}  # no conditioning
    # A family is one folder: each folder under families/ is registered and has contract facts
    # (the contract names a family as ModelInfo.family does: llamagen_t2i/ is "llamagen-t2i").
    root = os.path.dirname(families.__file__)
    folders = sorted(n for n in os.listdir(root)
                     if os.path.isfile(os.path.join(root, n, "__init__.py")))
    print(json.dumps({"checked": checked, "module": refusal(lambda: check_module(bare)),
                      "family": refusal(lambda: check_family(family, "bare")),
                      "folders": folders, "registered": sorted(families.FAMILIES),
                      "contract": sorted(n.replace("-", "_") for n in CONTRACT_FAMILIES)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
