/**
 * core/sampling.ts and core/random.ts against the shared golden table of docs/sampling.md
 * (testing/golden/sampling.json): every key vector, every draw vector, and in every case the
 * kept set and the token. The Python worker's sampler (backends/python/sampler_test.ts) and the
 * WGSL kernel (backends/webgpu/sampler_test.ts) are held to the same table.
 */

import assert from "node:assert/strict";
import { SAMPLING_TABLE } from "../testing/golden/sampling_table.ts";
import { cellKey, gumbel, randomBits, uniform } from "./random.ts";
import { keptTokens, mixCfg, resolveSampling, sample } from "./sampling.ts";

const { keys, draws, cases } = SAMPLING_TABLE;

Deno.test("golden table: cellKey derives every key vector", () => {
  assert.ok(keys.length >= 8);
  for (const k of keys) {
    assert.equal(cellKey(k.seed, k.index, k.row, k.col), k.key, JSON.stringify(k));
  }
});

Deno.test("golden table: the hash, the uniform and the Gumbel value of every draw vector", () => {
  assert.ok(draws.length >= 10);
  for (const d of draws) {
    const at = `key ${d.key}, v ${d.v}`;
    assert.equal(randomBits(d.key, d.v), d.bits, at);
    assert.equal(uniform(d.key, d.v), d.uniform, at);
    assert.equal(gumbel(d.key, d.v), d.gumbel, at);
  }
});

Deno.test("golden table: core/sampling keeps and draws the table's token in every case", () => {
  const failures: string[] = [];
  for (const c of cases) {
    const sampling = resolveSampling(c);
    const cond = Float32Array.from(c.logits);
    const mixed = c.uncond ? mixCfg(cond, Float32Array.from(c.uncond), c.cfg ?? 1) : cond;
    const key = cellKey(c.seed, c.index, c.row, c.col);
    if (key !== c.key) failures.push(`${c.name}: key ${key}, table ${c.key}`);
    const token = sample(mixed, key, sampling);
    if (token !== c.token) failures.push(`${c.name}: token ${token}, table ${c.token}`);
    if (c.kept) {
      const kept = [...keptTokens(mixed, sampling).kept];
      if (kept.join() !== c.kept.join()) failures.push(`${c.name}: kept ${kept}, table ${c.kept}`);
    } else if (c.temperature !== 0) failures.push(`${c.name}: no kept set at T > 0`);
  }
  assert.deepEqual(failures, []);
});

Deno.test("golden table: the cases cover every rule of docs/sampling.md, at least twice", () => {
  const count = new Map<string, number>();
  for (const c of cases) count.set(c.rule, (count.get(c.rule) ?? 0) + 1);
  const rules = [
    "greedy",
    "greedy ties",
    "draw",
    "temperature",
    "top-k",
    "top-k ties",
    "top-p",
    "top-p ties",
    "top-p cut",
    "top-k then top-p",
    "cfg",
  ];
  assert.deepEqual([...count.keys()].sort(), [...rules].sort());
  for (const rule of rules) assert.ok(count.get(rule)! >= 2, `rule ${rule}: ${count.get(rule)}`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "case names are unique");
  // Every temperature, top-k and top-p the table promises (docs/sampling.md, "The table").
  for (const t of [0, 0.7, 1, 1.3]) assert.ok(cases.some((c) => c.temperature === t), `T=${t}`);
  for (const k of [0, 1, 3]) assert.ok(cases.some((c) => c.topK === k), `top-k ${k}`);
  for (const p of [1, 0.9, 0.5]) assert.ok(cases.some((c) => c.topP === p), `top-p ${p}`);
  // Draws that depend on the key: some case's token is not its row's argmax.
  assert.ok(cases.some((c) => c.temperature > 0 && c.logits[c.token] < Math.max(...c.logits)));
});
