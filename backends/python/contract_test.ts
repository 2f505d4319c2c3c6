/**
 * The cross-language contract (core/contract.json): the TypeScript constants and the Python
 * worker's read the same values, and neither side keeps a literal copy of its own.
 */

import assert from "node:assert/strict";
import { CONTRACT } from "../../core/contract.ts";
import {
  PLAN_INPUT_CONDITION,
  PLAN_INPUT_EOL,
  PLAN_PREDICTS_NONE,
  QUERY_TOKEN_CONDITION,
} from "../../core/step.ts";
import { LLAMAGEN_LIMITS, LLAMAGEN_PRESETS } from "../llamagen_config.ts";
import { backendFlags } from "../../cli/flags/backend_flags.ts";
import { MAX_HEADER_BYTES as SAFETENSORS_HEADER } from "../safetensors_format.ts";
import { MAX_HEADER_BYTES, PROTOCOL_VERSION } from "./protocol.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON, PYTHON_TESTS, pythonFiles, runPython } from "./test_helpers.ts";
import { FAMILY_LAYOUTS } from "../../cli/plan.ts";
import { SAMPLING_USAGE } from "../../cli/flags/sampling_flags.ts";

const FILE = new URL("../../core/contract.json", import.meta.url);

Deno.test("the TypeScript constants are core/contract.json's", async () => {
  const json = JSON.parse(await Deno.readTextFile(FILE));
  assert.equal(PROTOCOL_VERSION, json.protocolVersion);
  assert.equal(MAX_HEADER_BYTES, json.maxFrameHeaderBytes);
  assert.equal(SAFETENSORS_HEADER, json.maxSafetensorsHeaderBytes);
  assert.equal(QUERY_TOKEN_CONDITION, json.queryTokenCondition);
  assert.equal(PLAN_INPUT_CONDITION, json.planInputCondition);
  assert.equal(PLAN_INPUT_EOL, json.planInputEol);
  assert.equal(PLAN_PREDICTS_NONE, json.planPredictsNone);
  assert.deepEqual(LLAMAGEN_PRESETS, json.llamagenPresets);
  assert.deepEqual(LLAMAGEN_LIMITS, json.llamagenLimits);
  assert.throws(
    () => backendFlags({ backend: "python", model: "m", size: String(json.imageSizePx[1] + 1) }),
    new RegExp(`--size must be an integer in ${json.imageSizePx[0]}\\.\\.${json.imageSizePx[1]}`),
  );
  for (const [name, f] of Object.entries(json.families) as [string, Record<string, unknown>][]) {
    assert.deepEqual(FAMILY_LAYOUTS[name], { grid: f.grid, eol: f.eol, about: f.about }, name);
  }
  assert.deepEqual(Object.keys(FAMILY_LAYOUTS), Object.keys(json.families));
  // The help text names each family's defaults as the contract gives them.
  assert.match(
    SAMPLING_USAGE.replace(/\s+/g, " "),
    /default: 1; LlamaGen t2i 7\.5, Janus 5, Emu3 3, Lumina-mGPT 3, Lumina-mGPT 2\.0 4\)/,
  );
  assert.match(
    SAMPLING_USAGE.replace(/\s+/g, " "),
    /default: 0; LlamaGen t2i 1000, Lumina-mGPT 2000, Lumina-mGPT 2\.0 4096\)/,
  );
  for (const key of Object.keys(json.notes)) assert.ok(key in json, `a note for no key: ${key}`);
  for (const key of Object.keys(CONTRACT)) assert.ok(key in json.notes, `no note for ${key}`);
});

Deno.test({
  name: "the Python worker reads the same contract, and keeps no copy of its own",
  ...PYTHON_TESTS,
  async fn() {
    const python = JSON.parse(await runPython(PYTHON!, "contract", []));
    assert.deepEqual(python, JSON.parse(JSON.stringify(CONTRACT)));
    // The literals the worker used to define itself: each value now comes from contract.py.
    const worker = fileURLToPath(new URL("./worker/", import.meta.url));
    const copies: string[] = [];
    for (const path of await pythonFiles(worker)) {
      const text = await Deno.readTextFile(join(worker, path));
      if (
        /^(CONDITION_TOKEN|INPUT_CONDITION|INPUT_EOL|PROTOCOL_VERSION|MAX_HEADER)\s*=\s*[-\d]/m
          .test(text)
      ) {
        copies.push(path);
      }
      if (/"GPT-B":\s*\(12, 12, 768\)/.test(text)) copies.push(path);
      if (/"gridSide":\s*256|not \d+ <= size <= 16384/.test(text)) copies.push(path);
      // Family sampling defaults: read from the contract, not written again.
      if (/"defaults":\s*\{"cfg":\s*[\d.]+|^DEFAULTS = \{|^DEFAULT_CFG = [\d.]+\s*$/m.test(text)) {
        copies.push(path);
      }
    }
    assert.deepEqual(copies, []);
  },
});
