import assert from "node:assert/strict";
import { createLayout, slotOf } from "../layout.ts";
import { SlotState } from "../tracker.ts";
import { SpeculativeTracker } from "./referee.ts";

/** A 3×4 tracker (prefix 1) whose row 0 has decoded (0, 0) = 5. */
function started34(): SpeculativeTracker {
  const tracker = new SpeculativeTracker(createLayout({ height: 3, width: 4 }), 2);
  tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 5 }]);
  return tracker;
}

Deno.test("SpeculativeTracker.applyStep() lets a row decode a run through drafts accepted in the same step", () => {
  const tracker = started34();
  // Slots 2, 3 hold drafts of (0, 1) and (0, 2); the step decodes (0, 1) = 6 and (0, 2) = 7 (the
  // drafts, so the queries at slots 2 and 3 saw the real tokens) and (0, 3) from slot 3.
  tracker.applyStep(
    [
      { slot: 1, proxy: false },
      { slot: 2, proxy: true, draft: 6 },
      { slot: 3, proxy: true, draft: 7 },
    ],
    [{ row: 0, col: 1, token: 6 }, { row: 0, col: 2, token: 7 }, { row: 0, col: 3, token: 1 }],
  );
  assert.deepEqual([...tracker.rowCount], [4, 0, 0]);
  assert.deepEqual([tracker.slots[2], tracker.slots[3]], [SlotState.Real, SlotState.Real]);
  assert.equal(tracker.draftsKept, 2);
  assert.equal(tracker.pendingProxies.size, 0);
});

Deno.test("SpeculativeTracker.applyStep() refuses a run through a draft the step did not keep", () => {
  const tracker = started34();
  const writes = [{ slot: 1, proxy: false }, { slot: 2, proxy: true, draft: 6 }];
  // (0, 1) decoded as 9, not the draft 6: slot 2 held a wrong token, (0, 2) cannot follow.
  assert.throws(
    () => tracker.applyStep(writes, [{ row: 0, col: 1, token: 9 }, { row: 0, col: 2, token: 3 }]),
    /Cannot decode token \(0, 2\): row 0 has 1 tokens, so the next is column 1/,
  );
  // Without any draft a row still decodes one token per step.
  assert.throws(
    () =>
      tracker.applyStep([{ slot: 1, proxy: false }, { slot: 2, proxy: true }], [
        { row: 0, col: 1, token: 6 },
        { row: 0, col: 2, token: 3 },
      ]),
    /row 0 has 1 tokens, so the next is column 1/,
  );
  assert.equal(tracker.decoded, 1, "refused steps change nothing");
  tracker.applyStep(writes, [{ row: 0, col: 1, token: 9 }]);
  assert.equal(tracker.slots[2], SlotState.Proxy, "a rejected draft waits for its correction");
  assert.ok(tracker.pendingProxies.has(2));
});

Deno.test("SpeculativeTracker.applyStep() counts drafts kept in the same step as visible to the row below", () => {
  const tracker = started34(); // window 2
  const layout = tracker.layout;
  // Row 0 has 1 token; this step keeps the drafts of (0, 1) and (0, 2), so row 1's first query
  // (at slot (0, 3), predicting (1, 0)) saw 3 real tokens of row 0: window 2 allows (1, 0).
  const writes = [
    { slot: 1, proxy: false },
    { slot: 2, proxy: true, draft: 6 },
    { slot: 3, proxy: true, draft: 7 },
    { slot: slotOf(layout, 0, 3), proxy: true, draft: 2 },
  ];
  tracker.applyStep(writes, [
    { row: 0, col: 1, token: 6 },
    { row: 0, col: 2, token: 7 },
    { row: 0, col: 3, token: 0 }, // not the draft 2: slot (0, 3) stays a proxy
    { row: 1, col: 0, token: 4 },
  ]);
  assert.deepEqual([...tracker.rowCount], [4, 1, 0]);
  assert.equal(tracker.slots[slotOf(layout, 0, 3)], SlotState.Proxy);
  // The same step without the kept drafts shows row 1 only 1 token of row 0.
  const other = started34();
  assert.throws(
    () =>
      other.applyStep([{ slot: 1, proxy: false }, { slot: 4, proxy: true }], [
        { row: 0, col: 1, token: 6 },
        { row: 1, col: 0, token: 4 },
      ]),
    /Cannot decode token \(1, 0\): row 0 has only 1 tokens, window 2 needs 2/,
  );
});

Deno.test("SpeculativeTracker.applyStep() marks a replaced token's slot stale and refuses draws from it", () => {
  const tracker = started34();
  tracker.applyStep([{ slot: 1, proxy: false }], [{ row: 0, col: 1, token: 6 }]);
  tracker.applyStep([{ slot: 2, proxy: false }], [{ row: 0, col: 2, token: 7 }]);
  // Replace (0, 1), an older token: slot 2 held 6 and is stale until rewritten.
  tracker.applyStep([{ slot: 1, proxy: false }], [{ row: 0, col: 1, token: 3, replace: true }]);
  assert.equal(tracker.tokenAt(0, 1), 3);
  assert.equal(tracker.slots[2], SlotState.Proxy);
  assert.ok(tracker.pendingProxies.has(2));
  // A draw from the stale slot is refused; so is one from a query that read the old (0, 2)
  // while this step replaces it.
  assert.throws(
    () => tracker.applyStep([], [{ row: 0, col: 2, token: 1, replace: true }]),
    /Token \(0, 2\) predicted from slot 2, which holds a stale or proxy token/,
  );
  assert.throws(
    () =>
      tracker.applyStep([{ slot: 2, proxy: false }, { slot: 3, proxy: false }], [
        { row: 0, col: 2, token: 1, replace: true },
        { row: 0, col: 3, token: 1 },
      ]),
    /Token \(0, 3\) predicted from slot 3, whose token this step replaces/,
  );
  assert.throws(
    () => tracker.applyStep([], [{ row: 0, col: 3, token: 1, replace: true }]),
    /Cannot replace token \(0, 3\): it is not decoded yet/,
  );
  tracker.applyStep([{ slot: 2, proxy: false }], []); // the correction
  assert.equal(tracker.pendingProxies.size, 0);
});

Deno.test("SpeculativeTracker.applyStep() lets a slot be re-run and counts it", () => {
  const tracker = started34();
  tracker.applyStep([{ slot: 0, proxy: false }], []); // a verification re-runs the prefix slot
  assert.equal(tracker.rewrites, 1);
  assert.equal(tracker.steps, 2);
});
