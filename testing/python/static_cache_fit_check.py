"""Check families/janus/transformers_loop.fit_static_cache on stand-ins for the two transformers
releases: one whose generate() omits _prepare_static_cache's required prefill_chunk_size (5.17)
and one whose generate() passes it (5.24). python -m static_cache_fit_check -> one JSON line."""

import json
import sys

from families.janus.transformers_loop import fit_static_cache


class Old:
    """5.17's shape: prefill_chunk_size required, generate() never passes it."""

    def _prepare_static_cache(self, cache_implementation, batch_size, max_cache_len, model_kwargs,
                              prefill_chunk_size):
        return prefill_chunk_size

    def generate(self):
        return self._prepare_static_cache("static", 2, 10, {})


class New(Old):
    def generate(self):
        return self._prepare_static_cache("static", 2, 10, {}, prefill_chunk_size=None)


def outcome(model):
    try:
        return {"result": model.generate(), "said": fit_static_cache(model) and "fitted"}
    except TypeError as err:
        return {"error": str(err).split("(")[0]}


def main(argv) -> int:
    before = outcome(Old())
    old, new = Old(), New()
    said = fit_static_cache(old)
    again = fit_static_cache(old)  # once per model: the same answer, no second wrapper
    print(json.dumps({"before": before, "old": old.generate(), "said": said,
                      "again": again == said, "new": fit_static_cache(new),
                      "newResult": new.generate()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
