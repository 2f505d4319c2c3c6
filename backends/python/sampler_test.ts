/**
 * The worker's keyed sampler (worker/sampler.py): it draws every case of the shared golden table
 * of docs/sampling.md (testing/golden/sampling.json) alone, batched and sync-free, with the
 * table's keys, hashes, Gumbel values (all 2²³ of them equal to TypeScript's) and kept sets;
 * and its pruned CPU argmax (keyed_argmax) picks the same token as the definition scored over
 * every column, on logits with ties, -inf columns, NaNs, large and tiny spreads, temperatures
 * and top-k — and it did prune (it scored few columns exactly).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SAMPLING_TABLE, SAMPLING_TABLE_PATH } from "../../testing/golden/sampling_table.ts";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";

/** What testing/python/sampler_golden_check.py prints. */
interface GoldenCheck {
  device: string;
  keys: number[];
  draws: { bits: number; uniform: number; gumbel: number; gumbelTable: number }[];
  gumbelSha256: string;
  cases: {
    key: number[];
    alone: number[];
    syncFree: number[];
    batched: number[];
    kept: (number[] | null)[];
  };
  /** The check's own comparison with the table (what a CUDA run without Deno reports). */
  mismatches: string[];
}

Deno.test({
  name: "worker sampler: every key, draw and case of the golden table (alone, batched, sync-free)",
  ...PYTHON_TESTS,
  async fn() {
    const { keys, draws, cases } = SAMPLING_TABLE;
    const path = fileURLToPath(SAMPLING_TABLE_PATH);
    const out: GoldenCheck = JSON.parse(await runPython(PYTHON!, "sampler_golden_check", [path]));
    assert.deepEqual(out.keys, keys.map((k) => k.key), "cell_key");
    assert.equal(out.draws.length, draws.length);
    draws.forEach((d, i) => {
      const { gumbelTable, ...got } = out.draws[i];
      const at = `key ${d.key}, v ${d.v}`;
      assert.deepEqual(got, { bits: d.bits, uniform: d.uniform, gumbel: d.gumbel }, at);
      assert.equal(gumbelTable, d.gumbel, `${at}: the Gumbel table`);
    });
    const failures: string[] = [];
    cases.forEach((c, i) => {
      if (out.cases.key[i] !== c.key) failures.push(`${c.name}: key ${out.cases.key[i]}`);
      for (const path of ["alone", "syncFree", "batched"] as const) {
        const token = out.cases[path][i];
        if (token !== c.token) failures.push(`${c.name} (${path}): ${token}, table ${c.token}`);
      }
      const kept = out.cases.kept[i];
      if (JSON.stringify(kept) !== JSON.stringify(c.kept ?? null)) {
        failures.push(`${c.name}: kept ${kept}, table ${c.kept}`);
      }
    });
    assert.equal(out.cases.alone.length, cases.length);
    assert.deepEqual(failures, []);
    assert.equal(out.gumbelSha256, await gumbelSha256(), "the 2^23 Gumbel values differ");
    assert.equal(out.device, "cpu");
    assert.deepEqual(out.mismatches, [], "the check's own comparison");
  },
});

/**
 * SHA-256 of the Gumbel value of every uniform (2i + 1) / 2²⁴, i < 2²³, as core/random computes
 * it (float64 logs, rounded to float32), little-endian float32 bytes.
 */
async function gumbelSha256(): Promise<string> {
  const values = new Float32Array(1 << 23);
  for (let i = 0; i < values.length; i++) values[i] = -Math.log(-Math.log((2 * i + 1) / 2 ** 24));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", values));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "worker sampler: the pruned argmax equals the full definition and skips most columns",
  ...PYTHON_TESTS,
  async fn() {
    for (const seed of ["0", "1"]) {
      const out = JSON.parse(await runPython(PYTHON!, "sampler_check", ["--seed", seed]));
      assert.equal(out.cases, 720);
      assert.equal(out.mismatches, 0, `seed ${seed}: ${out.mismatches} draws differ`);
      assert.ok(out.scored * 20 < out.columns, `seed ${seed}: scored ${out.scored}/${out.columns}`);
    }
  },
});
