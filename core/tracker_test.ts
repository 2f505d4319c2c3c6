import assert from "node:assert/strict";
import { createLayout, slotOf } from "./layout.ts";
import { SlotState, Tracker } from "./tracker.ts";

function started(): Tracker {
  const tracker = new Tracker(createLayout({ height: 3, width: 3 }), 1);
  tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 5 }]);
  return tracker;
}

Deno.test("Tracker.applyStep() checks every decode against the state before the step", () => {
  const tracker = started();
  // (1, 0) needs (0, 0) decoded (window 1): allowed. (1, 1) in the same step would need (0, 1).
  assert.throws(
    () =>
      tracker.applyStep(
        [{ slot: 1, proxy: false }, { slot: 3, proxy: true }],
        [{ row: 0, col: 1, token: 1 }, { row: 1, col: 0, token: 2 }, { row: 1, col: 1, token: 2 }],
      ),
    /Cannot decode token \(1, 1\): row 1 has 0 tokens/,
  );
  tracker.applyStep(
    [{ slot: 1, proxy: false }, { slot: 3, proxy: true }],
    [{ row: 0, col: 1, token: 1 }, { row: 1, col: 0, token: 2 }],
  );
  assert.equal(tracker.slots[3], SlotState.Proxy);
  assert.deepEqual([...tracker.rowCount], [2, 1, 0]);
});

Deno.test("Tracker.applyStep() refuses double writes, early real writes and late proxies", () => {
  const tracker = started();
  assert.throws(() => tracker.applyStep([{ slot: 0, proxy: false }], []), /Slot 0 written twice/);
  assert.throws(() => tracker.applyStep([{ slot: 2, proxy: false }], []), /not decoded yet/);
  assert.throws(() => tracker.applyStep([{ slot: 1, proxy: true }], []), /real token is known/);
  assert.throws(() => tracker.applyStep([{ slot: 99, proxy: false }], []), RangeError);
  assert.throws(
    () => tracker.applyStep([], [{ row: 0, col: 1, token: 3 }]),
    /decoded without a query at slot 1/,
  );
  assert.throws(
    () => tracker.applyStep([{ slot: 1, proxy: false }], [{ row: 0, col: 1, token: -4 }]),
    RangeError,
  );
});

Deno.test("Tracker.finish() refuses uncorrected proxies and unwritten slots", () => {
  const layout = createLayout({ height: 2, width: 2 });
  const tracker = new Tracker(layout, 1);
  tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 0 }]);
  tracker.applyStep(
    [{ slot: 1, proxy: false }, { slot: 2, proxy: true }],
    [{ row: 0, col: 1, token: 0 }, { row: 1, col: 0, token: 0 }],
  );
  tracker.applyStep([{ slot: 3, proxy: false }], [{ row: 1, col: 1, token: 0 }]);
  assert.ok(tracker.done);
  assert.throws(() => tracker.finish(), /proxy slots never corrected: 2/);
  tracker.applyStep([{ slot: 2, proxy: false }], []);
  assert.equal(tracker.corrections, 1);
  tracker.finish();
  assert.throws(() => tracker.applyStep([{ slot: 2, proxy: false }], []), /written twice/);
  assert.equal(slotOf(layout, 1, 1), 4);
});

Deno.test("Tracker rejects a window outside 1..W", () => {
  assert.throws(() => new Tracker(createLayout({ height: 2, width: 4 }), 5), {
    name: "RangeError",
    message: "window must be an integer in 1..4, got 5",
  });
});

Deno.test("Tracker refuses a decode the window does not allow yet", () => {
  const layout = createLayout({ height: 3, width: 4 });
  const tracker = new Tracker(layout, 2);
  tracker.applyStep([{ slot: 0, proxy: false }], [{ row: 0, col: 0, token: 1 }]);
  assert.throws(
    () =>
      tracker.applyStep([{ slot: slotOf(layout, 0, 3), proxy: true }], [
        { row: 1, col: 0, token: 1 },
      ]),
    /Cannot decode token \(1, 0\): row 0 has only 1 tokens, window 2 needs 2/,
  );
  // Nothing changed after the refused step.
  assert.equal(tracker.decoded, 1);
  assert.equal(tracker.slots[slotOf(layout, 0, 3)], 0);
});

Deno.test("Tracker refuses drafts and replacements: they are the speculative referee's", () => {
  const tracker = started();
  assert.throws(
    () => tracker.applyStep([{ slot: 1, proxy: true, draft: 6 }], []),
    /Slot 1 written with a draft: only a reactive schedule's referee allows that/,
  );
  assert.throws(
    () => tracker.applyStep([], [{ row: 0, col: 0, token: 3, replace: true }]),
    /Token \(0, 0\) replaced: only a reactive schedule's referee allows that/,
  );
  assert.throws(
    () => tracker.applyStep([{ slot: 0, proxy: false }], []),
    /Slot 0 written twice/,
  );
  assert.equal(tracker.steps, 1, "refused steps change nothing");
});
