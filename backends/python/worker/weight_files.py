"""The weight files of a model directory as its publishers ship them: one file or shards named
by an index, safetensors or PyTorch pickles (`pytorch_model*.bin`). What they hold (names,
dtypes, shapes) is read without the data; the tensors a loader asks for are read on demand.

Files are untrusted. An index names only plain file names inside the directory, each a regular
file (no link out of it, no device or FIFO), checked before a byte of any shard is read. Pickles
are read with torch.load(weights_only=True) (pt_file.py): a pickle that would run code is refused
in one line, before anything of it runs; zip-format pickles are memory-mapped, so a shard's
tensors are read only when used.
"""

import os
import stat
from typing import Dict, Iterable, List, Optional, Tuple

import torch

from bounded_json import parse_json
from errors import CheckpointError, first_line, printable
from pt_file import load_checkpoint, state_dict
from safetensors_io import load_tensor, read_header

# (index, single file) pairs, in the order a directory is searched.
LAYOUTS = (("model.safetensors.index.json", "model.safetensors"),
           ("pytorch_model.bin.index.json", "pytorch_model.bin"))
MAX_INDEX_BYTES = 64 << 20
DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2}


def regular_file_inside(directory: str, name, what: str) -> str:
    """The path of `name` in `directory`, checked to be a plain name of a regular file there."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name \
            or "\\" in name or "\0" in name:
        raise CheckpointError(f"{what} names {printable(repr(name))}, not a file name in "
                              f"{directory}; download the model's index again")
    path = os.path.join(directory, name)
    real, root = os.path.realpath(path), os.path.realpath(directory)
    if os.path.dirname(real) != root:
        raise CheckpointError(f"{what}: {name} leads out of {directory} (to {real}); the "
                              f"shards must be files inside the model directory")
    try:
        mode = os.stat(real).st_mode
    except OSError:
        raise CheckpointError(f"{what} names {name}, which is not in {directory}: download "
                              f"the missing shard") from None
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{what}: {name} is not a regular file (a device, FIFO or "
                              f"folder); the shards must be the downloaded files")
    return path


class WeightFiles:
    """The tensors of a model directory: name -> the file holding it."""

    def __init__(self, directory: str, layouts=LAYOUTS, what: str = "model"):
        self.directory = directory
        self.file_of: Dict[str, str] = {}
        self.index: Optional[str] = None
        self._pickles: Dict[str, dict] = {}
        self._headers: Dict[str, tuple] = {}
        for index_name, single_name in layouts:
            index = os.path.join(directory, index_name)
            single = os.path.join(directory, single_name)
            if os.path.lexists(index):
                self._read_index(index)
                return
            if os.path.lexists(single):
                path = regular_file_inside(directory, single_name, directory)
                self.file_of = {k: path for k in self._entries(path)}
                return
        names = ", ".join(n for pair in layouts for n in pair)
        raise CheckpointError(f"{directory}: no {what} weights (none of {names}); download "
                              f"the model's weight files into the directory")

    def _read_index(self, index: str):
        self.index = index
        regular_file_inside(self.directory, os.path.basename(index), self.directory)
        if os.path.getsize(index) > MAX_INDEX_BYTES:
            raise CheckpointError(f"{index}: {os.path.getsize(index)} bytes, more than an "
                                  f"index's {MAX_INDEX_BYTES}")
        try:
            with open(index, encoding="utf-8") as f:
                parsed = parse_json(f.read(), index)
        except (OSError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{index}: {first_line(err)}") from None
        weight_map = parsed.get("weight_map") if isinstance(parsed, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index}: no weight_map of tensor names to shard files; "
                                  f"download the model's index again")
        shards = {}
        for name in sorted(set(map(str, weight_map.values()))):
            shards[name] = regular_file_inside(self.directory, name, index)
        for key, name in weight_map.items():
            if not isinstance(name, str):
                raise CheckpointError(f"{index}: the shard of {printable(str(key))} is not a "
                                      f"file name")
            self.file_of[str(key)] = shards[name]

    def _entries(self, path: str) -> Dict[str, Tuple[str, List[int]]]:
        """name -> (dtype, shape) of one file, without reading tensor data."""
        if path.endswith(".safetensors"):
            if path not in self._headers:
                self._headers[path] = read_header(path)
            return {k: (e[0], list(e[1])) for k, e in self._headers[path][0].items()}
        state = self._pickle(path)
        return {k: (str(v.dtype).replace("torch.", ""), list(v.shape)) for k, v in state.items()}

    def _pickle(self, path: str) -> dict:
        if path not in self._pickles:
            self._pickles[path] = state_dict(load_checkpoint(path), path)
        return self._pickles[path]

    @property
    def files(self) -> List[str]:
        return sorted(set(self.file_of.values()))

    def shapes(self) -> Dict[str, Tuple[str, List[int]]]:
        """Every tensor's (dtype, shape), read from the headers (pickles: memory-mapped)."""
        out: Dict[str, Tuple[str, List[int]]] = {}
        for path in self.files:
            for key, entry in self._entries(path).items():
                if self.file_of.get(key) == path:
                    out[key] = entry
        missing = [k for k in self.file_of if k not in out]
        if missing:
            raise CheckpointError(f"{self.index or self.directory}: names {missing[0]} in "
                                  f"{os.path.basename(self.file_of[missing[0]])}, which does "
                                  f"not hold it; download the shards again")
        return out

    def total_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in self.files)

    def load(self, keys: Iterable[str]) -> Dict[str, torch.Tensor]:
        """The tensors `keys` names (each must exist), read from their files."""
        out = {}
        for key in keys:
            path = self.file_of.get(key)
            if path is None:
                raise CheckpointError(f"{self.directory}: no tensor {key} in its weight files")
            if path.endswith(".safetensors"):
                if path not in self._headers:
                    self._headers[path] = read_header(path)
                entries, data_start, _ = self._headers[path]
                if key not in entries:
                    raise CheckpointError(f"{path}: the index names {key} here, but the file "
                                          f"does not hold it; download the shards again")
                out[key] = load_tensor(path, entries[key], data_start)
            else:
                state = self._pickle(path)
                if key not in state:
                    raise CheckpointError(f"{path}: the index names {key} here, but the file "
                                          f"does not hold it; download the shards again")
                out[key] = state[key]
        return out



def summary(weights: WeightFiles) -> dict:
    """{files, bytes, parameters, dtype} of a directory's weights, from the headers alone; dtype
    is the dtype most of the parameters have."""
    counts: Dict[str, int] = {}
    for dtype, shape in weights.shapes().values():
        n = 1
        for d in shape:
            n *= d
        name = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                "I32": "int32"}.get(dtype, dtype)
        counts[name] = counts.get(name, 0) + n
    floats = {k: v for k, v in counts.items() if not k.startswith("int")} or counts
    return {"files": len(weights.files), "bytes": weights.total_bytes(),
            "parameters": sum(floats.values()),
            "dtype": max(floats, key=floats.get) if floats else None}
