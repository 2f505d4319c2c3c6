/**
 * The model-family interface (worker/families/family.py) is checked, not only described: every
 * family module passes it when imported, and a module or a loaded family object that lacks a
 * piece the planner, server or bench reads is refused in one line naming what is missing.
 */

import assert from "node:assert/strict";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";

Deno.test({
  name: "every family passes the family interface; a family lacking a piece is refused by name",
  ...PYTHON_TESTS,
  async fn() {
    const out = JSON.parse(await runPython(PYTHON!, "family_interface_check", []));
    assert.deepEqual(out.checked, [
      "families.llamagen_t2i",
      "families.llamagen",
      "families.janus",
      "families.emu3",
      "families.lumina2",
      "families.lumina",
    ]);
    assert.equal(
      out.module,
      "families.bare is no model family: it lacks inspect (families/family.py)",
    );
    assert.equal(
      out.family,
      "the bare family's model lacks steps, info.conditioning (families/family.py)",
    );
    // A new family is one folder: registered in families/__init__.py, its facts in
    // core/contract.json; a folder without either fails here by name.
    assert.deepEqual(out.registered, out.folders, "families/__init__.py's FAMILIES");
    assert.deepEqual(out.contract, out.folders, "core/contract.json's families");
  },
});
