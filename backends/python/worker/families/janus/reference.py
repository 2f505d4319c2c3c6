"""No-cache reference forward for the Janus family, in float64, for tests.

Given every step of a generation, recompute from scratch the logits each query asked for:
per sequence, every write (the prompt tokens of its condition block, image tokens, later
overwrites) is an event at an absolute position; each event attends, with one dense 4-D mask
and no cache, to exactly the events its query saw: for every position <= its own, the newest
write made in the same step or earlier. That is the visibility the slot KV cache promises,
proxies and corrections included. The decoder layers, rotary embedding, norm and generation
head are the model's own (in float64), so what this checks is the cache, the masks, the
positions and the condition-block expansion of session.py.

Usage (from worker/): python -m families.janus.reference MODEL STEPS.json OUT.f64
STEPS.json: {"sequences": [{condition, unconditional}, ...],
             "steps": [[[seq, slot, token, want], ...], ...]}
"""

import json
import sys

import numpy as np
import torch

from families.family import LoadOptions

CONDITION_TOKEN = -1


def visibility(time: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """[E] times and positions -> visible [E, E]: event i sees event j."""
    same = pos[:, None] == pos[None, :]  # [j, k]
    later = same & (time[None, :] > time[:, None])  # k overwrote j ...
    newer = later[None] & (time[None, None, :] <= time[:, None, None])  # ... by i's time
    visible = (pos[None, :] <= pos[:, None]) & (time[None, :] <= time[:, None])
    return visible & ~newer.any(-1)


@torch.no_grad()
def forward_events(fwd, events) -> torch.Tensor:
    """events: [(time, pos, is_text, token)] of one sequence -> logits [E, codebook] f64."""
    time = np.array([e[0] for e in events])
    pos = np.array([e[1] for e in events])
    text = torch.tensor([e[2] for e in events])
    token = torch.tensor([e[3] for e in events], dtype=torch.int64)
    x = torch.where(text[:, None], fwd.embed_text(token.clamp(min=0)),
                    fwd.embed_image(token.clamp(0, fwd.head.vision_head.out_features - 1)))
    mask = torch.zeros(1, 1, len(events), len(events), dtype=torch.float64)
    mask.masked_fill_(~torch.from_numpy(visibility(time, pos)), torch.finfo(torch.float64).min)
    h = x[None]  # [1, E, hidden]
    position_ids = torch.from_numpy(pos)[None]
    position_embeddings = fwd.rotary_emb(h, position_ids=position_ids)
    for layer in fwd.layers:
        h = layer(h, attention_mask=mask, position_ids=position_ids, cache=None,
                  use_cache=False, position_embeddings=position_embeddings)
    return fwd.head(fwd.norm(h[0]))


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
    logits = {s: forward_events(family.forward, ev) for s, ev in events.items() if ev}
    if not wanted:
        return np.zeros((0, family.codebook))
    return torch.stack([logits[s][i] for s, i in wanted]).numpy()


def main(argv):
    from families import janus
    model, steps_path, out = argv[:3]
    family = janus.load(model, LoadOptions(torch.device("cpu"), torch.float64))
    with open(steps_path, encoding="utf-8") as f:
        spec = json.load(f)
    logits = reference_logits(family, spec["sequences"], spec["steps"])
    logits.astype("<f8").tofile(out)


if __name__ == "__main__":
    main(sys.argv[1:])
