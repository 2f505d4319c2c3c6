import assert from "node:assert/strict";
import { cellOf, createLayout, eolSlotOf, predictorSlot, slotOf } from "./layout.ts";

Deno.test("createLayout() derives slot counts with and without EOL", () => {
  assert.equal(createLayout({ height: 24, width: 24 }).numSlots, 577);
  const eol = createLayout({ height: 90, width: 90, eol: true, prefix: 5 });
  assert.equal(eol.rowStride, 91);
  assert.equal(eol.numSlots, 5 + 90 * 91);
});

Deno.test("slotOf() and cellOf() are inverse for every slot", () => {
  for (const eol of [false, true]) {
    const layout = createLayout({ height: 5, width: 4, prefix: 3, eol });
    for (let slot = 0; slot < layout.numSlots; slot++) {
      const kind = cellOf(layout, slot);
      if (kind.kind === "prefix") assert.equal(kind.index, slot);
      else if (kind.kind === "eol") assert.equal(eolSlotOf(layout, kind.row), slot);
      else assert.equal(slotOf(layout, kind.row, kind.col), slot);
    }
  }
});

Deno.test("predictorSlot() is the slot just before a cell in raster order", () => {
  const plain = createLayout({ height: 3, width: 4, prefix: 2 });
  assert.equal(predictorSlot(plain, 0, 0), 1);
  assert.equal(predictorSlot(plain, 0, 3), slotOf(plain, 0, 2));
  assert.equal(predictorSlot(plain, 2, 0), slotOf(plain, 1, 3));
  const eol = createLayout({ height: 3, width: 4, eol: true });
  assert.equal(predictorSlot(eol, 2, 0), eolSlotOf(eol, 1));
  for (const layout of [plain, eol]) {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        assert.equal(predictorSlot(layout, r, c), slotOf(layout, r, c) - 1);
      }
    }
  }
});

Deno.test("createLayout() rejects grid sizes < 1 with a RangeError naming the value", () => {
  assert.throws(() => createLayout({ height: 0, width: 4 }), {
    name: "RangeError",
    message: "grid height must be an integer in 1..4096, got 0",
  });
  assert.throws(() => createLayout({ height: 4, width: -3 }), /grid width .* got -3/);
  assert.throws(() => createLayout({ height: 4, width: 2.5 }), RangeError);
  assert.throws(() => createLayout({ height: 4, width: 4, prefix: 0 }), /prefix length/);
  assert.throws(() => eolSlotOf(createLayout({ height: 2, width: 2 }), 0), TypeError);
});
