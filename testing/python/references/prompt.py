"""No-cache reference forward for the prompt families (the worker's prompt_session.py), in
float64, for tests.

Given every step of a generation, recompute from scratch the logits each query asked for:
per sequence, every write (the prompt tokens of its condition block, image-part tokens, later
overwrites) is an event at an absolute position; each event attends, with one dense 4-D mask
and no cache (recompute), to exactly the events its query saw: for every position
<= its own, the newest write made in the same step or earlier. That is the visibility the slot
KV cache promises, proxies and corrections included. The layers, rotary embedding, norm,
embeddings and heads are the model's own, so what this checks is the cache, the masks, the
positions and the condition-block expansion.

Usage (worker/ and testing/python/ on PYTHONPATH, as testing/python_runner.ts sets it):
    python -m references.prompt MODEL STEPS.json OUT.f64
STEPS.json: {"sequences": [{condition, unconditional}, ...],
             "steps": [[[seq, slot, token, want], ...], ...], "grid"?: "HxW" (as a hello's)}
"""

import json
import sys

import numpy as np
import torch

import families
from families.family import LoadOptions
from hf_decoder import hidden_of


def visibility(time: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """[E] times and positions -> visible [E, E]: event i sees event j."""
    same = pos[:, None] == pos[None, :]  # [j, k]
    later = same & (time[None, :] > time[:, None])  # k overwrote j ...
    newer = later[None] & (time[None, None, :] <= time[:, None, None])  # ... by i's time
    visible = (pos[None, :] <= pos[:, None]) & (time[None, :] <= time[:, None])
    return visible & ~newer.any(-1)


def recompute(decoder, x: torch.Tensor, positions: torch.Tensor,
              visible: torch.Tensor) -> torch.Tensor:
    """The model's own layers with no cache: x: [E, hidden] events of one sequence, positions:
    [E], visible: [E, E] bool (event i sees event j) -> final-norm hidden [E, hidden]. `decoder`
    is a session's HFDecoder (its rotary_emb, layers and norm are the model's modules)."""
    mask = torch.zeros(1, 1, *visible.shape, dtype=x.dtype, device=x.device)
    mask.masked_fill_(~visible, torch.finfo(x.dtype).min)
    h, position_ids = x[None], positions[None]
    position_embeddings = decoder.rotary_emb(h, position_ids=position_ids)
    for layer in decoder.layers:
        h = hidden_of(layer(h, attention_mask=mask, position_ids=position_ids,
                            use_cache=False, position_embeddings=position_embeddings))
    return decoder.norm(h[0])


@torch.no_grad()
def forward_events(family, session, events) -> torch.Tensor:
    """events: [(time, pos, is_text, token)] of one sequence -> logits [E, vocab]."""
    time = np.array([e[0] for e in events])
    pos = np.array([e[1] for e in events])
    text = [e[2] for e in events]
    token = torch.tensor([e[3] for e in events], dtype=torch.int64)
    d = family.decoder_stack
    x = torch.empty(len(events), d.hidden, dtype=d.dtype)
    is_text = torch.tensor(text)
    if is_text.any():
        x[is_text] = d.embed_tokens(token[is_text])
    if (~is_text).any():
        x[~is_text] = family.embed_image(token[~is_text]).to(d.dtype)
    hidden = recompute(d, x, torch.from_numpy(pos), torch.from_numpy(visibility(time, pos)))
    return family.image_logits(hidden)


def reference_logits(family, sequences, steps) -> np.ndarray:
    session = family.open(sequences)  # the condition blocks' ids, as the worker builds them
    events = {s: [] for s in range(len(sequences))}  # seq -> [(time, pos, is_text, token)]
    wanted = []  # (seq, event index) in query order
    for t, step in enumerate(steps):
        for seq, slot, token, want in step:
            ids = session.input_ids[seq]
            if slot == 0:
                events[seq] += [(t, p, True, ids[p]) for p in range(len(ids))]
            else:
                events[seq].append((t, len(ids) + slot - 1, False, token))
            if want:
                wanted.append((seq, len(events[seq]) - 1))
    logits = {s: forward_events(family, session, ev) for s, ev in events.items() if ev}
    if not wanted:
        return np.zeros((0, family.info["vocab"]))
    return torch.stack([logits[s][i] for s, i in wanted]).double().numpy()


def main(argv):
    model, steps_path, out = argv[:3]
    with open(steps_path, encoding="utf-8") as f:
        spec = json.load(f)
    options = LoadOptions(torch.device("cpu"), torch.float64, grid=spec.get("grid"))
    family = families.load_family(model, options)
    logits = reference_logits(family, spec["sequences"], spec["steps"])
    logits.astype("<f8").tofile(out)


if __name__ == "__main__":
    main(sys.argv[1:])
