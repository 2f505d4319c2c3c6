"""JSON from untrusted files with a bounded nesting depth, as backends/bounded_json.ts: a scan
counts the depth before json.loads sees the text, so a 100,000-deep array is one line, not a
RecursionError; NaN and Infinity are refused as JavaScript's JSON.parse refuses them.
Standard library only."""

import json

from errors import CheckpointError, only_line

MAX_JSON_DEPTH = 64  # backends/bounded_json.ts: configs and job lines nest no deeper


def json_depth(text: str, limit: int) -> int:
    """How deep `text` nests (objects and arrays), scanning no further than the first point
    where it exceeds `limit` (backends/bounded_json.ts's jsonTextDepth)."""
    depth = deepest = 0
    i, n, in_string = 0, len(text), False
    while i < n:
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
        elif c in "}]":
            depth -= 1
        i += 1
    return deepest


def no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # as JavaScript's JSON.parse says too


def parse_json(text: str, source: str, max_depth: int = MAX_JSON_DEPTH):
    """Parsed JSON text; one line when it nests deeper than max_depth or is not JSON."""
    if json_depth(text, max_depth) > max_depth:
        raise CheckpointError(f"{source}: JSON nests more than {max_depth} levels deep")
    try:
        return json.loads(text, parse_constant=no_constant)
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{source}: not valid JSON ({only_line(err)})") from None


def stringify(value) -> str:
    """JSON text as JavaScript's JSON.stringify writes it, for messages both sides word alike."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
