import assert from "node:assert/strict";
import { slotOf } from "../../core/layout.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { MockBackend } from "./mock.ts";
import { sequencesFor } from "../../core/condition.ts";

/** Write a full raster prefix of `tokens` up to (row, col − 1) and return the logits of (row, col). */
async function logitsAt(
  backend: MockBackend,
  tokens: number[],
  row: number,
  col: number,
  skip: Set<number> = new Set(),
): Promise<Float32Array> {
  const session = await backend.open(sequencesFor([3], false));
  const { width } = backend.info;
  const queries: Query[] = [{ seq: 0, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: false }];
  const upto = row * width + col; // cells before (row, col)
  for (let i = 0; i < upto; i++) {
    const slot = slotOf(backend.layout, Math.floor(i / width), i % width);
    if (!skip.has(i)) queries.push({ seq: 0, slot, token: tokens[i], wantLogits: false });
  }
  queries[queries.length - 1].wantLogits = true;
  return await session.step(queries);
}

Deno.test("MockBackend logits depend only on the declared neighbourhood", async () => {
  const backend = new MockBackend({ height: 4, width: 8, left: 2, aboveLeft: 1, aboveRight: 2 });
  const tokens = Array.from({ length: 32 }, (_, i) => (i * 7) % 16);
  const base = await logitsAt(backend, tokens, 2, 4);
  const changed = (i: number) => {
    const t = [...tokens];
    t[i] = (t[i] + 1) % 16;
    return logitsAt(backend, t, 2, 4);
  };
  // Inside: (2, 3), (2, 2) to the left; (1, 3) .. (1, 6) above.
  for (const i of [2 * 8 + 3, 2 * 8 + 2, 8 + 3, 8 + 4, 8 + 5, 8 + 6]) {
    assert.notDeepEqual(await changed(i), base, `cell ${i} is in the neighbourhood`);
  }
  // Outside: (2, 1), (1, 2), (1, 7), row 0.
  for (const i of [2 * 8 + 1, 8 + 2, 8 + 7, 0, 5]) {
    assert.deepEqual(await changed(i), base, `cell ${i} is outside the neighbourhood`);
  }
  // An unwritten (masked) neighbour changes the logits: it is not visible.
  assert.notDeepEqual(await logitsAt(backend, tokens, 2, 4, new Set([8 + 6])), base);
});

Deno.test("MockBackend refuses tokens that do not fit the slot", async () => {
  const backend = new MockBackend({ height: 2, width: 2, vocab: 4, eolToken: 9 });
  const session = await backend.open(sequencesFor([0], false));
  await assert.rejects(() => session.step([{ seq: 0, slot: 1, token: 4, wantLogits: false }]), {
    name: "RangeError",
  });
  await assert.rejects(
    () => session.step([{ seq: 0, slot: 3, token: 1, wantLogits: false }]),
    /cannot be written to slot 3 \(eol\)/,
  );
  await assert.rejects(() => session.step([{ seq: 1, slot: 1, token: 1, wantLogits: false }]));
  assert.throws(() => new MockBackend({ vocab: 8, eolToken: 3 }), /EOL token must be/);
  await session.close();
  await assert.rejects(() => session.step([]), /closed/);
});
