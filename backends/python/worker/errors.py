"""One-line errors: the worker's expected failures and how they are worded. Standard library
only, so main.py and convert.py can use it before numpy and torch are known to import."""

import sys
from typing import Optional

FIX = ("run `deno task setup` (it makes .venv from backends/python/requirements.txt), "
       "or set ZIPAR_PYTHON to a python with torch and numpy")


class CheckpointError(ValueError):
    """Weights or a config that cannot be used: the message names the file, key and fix."""


class OptionError(ValueError):
    """An option the model cannot take (`--grid` for a model of one size, a `--size` it was not
    trained for): a usage error, answered with `usage: true` (the CLI exits 2)."""


def first_line(err: BaseException) -> str:
    """`Type: first line of the message`, for errors nobody expected."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip()


def printable(text: str) -> str:
    """text with control characters (ESC, NUL, CR, ...) escaped as \\xNN, so that an error line
    never carries terminal escapes or a line break from a file, a flag or a library."""
    return "".join(ch if ch.isprintable() else
                   (f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}") for ch in text)


def only_line(err: BaseException) -> str:
    """The first line of an expected error's message (its type name when it has none)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def missing_dependencies() -> Optional[str]:
    """None when numpy and torch import; else one line naming what is missing and the fix."""
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as err:
        name = getattr(err, "name", None) or "torch"
        what = "PyTorch" if name == "torch" else name
        return f"{what} is not installed for {sys.executable} ({err}): {FIX}"
    return None
