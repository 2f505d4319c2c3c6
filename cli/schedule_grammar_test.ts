import assert from "node:assert/strict";
import { ValidationError } from "./flags/args.ts";
import { SCHEDULES, settingOf } from "./schedules.ts";
import { FLAG_SPELLING, JOB_SPELLING, readSchedule, resolveSchedule } from "./schedule_grammar.ts";

Deno.test("flags, job fields and the compact form give the same choice for every schedule", () => {
  for (const entry of SCHEDULES) {
    // Every number at 3 and every word setting at its last (non-default) word.
    const compact = [entry.name, ...entry.numbers.map(() => "3")];
    const raw: Record<string, string> = {};
    for (const s of entry.numbers) raw[s] = "3";
    const fromCompact = readSchedule(compact.join(":"), {}, 8, FLAG_SPELLING);
    const fromFlags = readSchedule(entry.name, raw, 8, FLAG_SPELLING);
    const fromJob = readSchedule(
      entry.name,
      Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)])),
      8,
      JOB_SPELLING,
    );
    assert.deepEqual(fromFlags, fromCompact, entry.name);
    assert.deepEqual(fromJob, fromCompact, entry.name);
    for (const s of entry.numbers) assert.equal(settingOf(fromCompact, s), 3, `${entry.name} ${s}`);
  }
});

Deno.test("the compact form takes each setting's words and refuses what the schedule lacks", () => {
  const c = readSchedule("sjd:5:exact:above:uncoupled:r-1", {}, 8, FLAG_SPELLING);
  assert.deepEqual(c, {
    schedule: "sjd",
    window: 8,
    draft: 5,
    acceptance: "exact",
    init: "above",
    coupling: "uncoupled",
    proxy: "r-1",
  });
  const refused: [string, RegExp][] = [
    ["fastest:2", /unknown schedule 'fastest'/],
    ["ideal", /needs --window/],
    ["ideal:2:3", /ideal takes 1 number\(s\), got another: '3'/],
    ["paper:2:final", /'final' is no setting of paper/],
    ["adaptive:2:exact", /'exact' is no setting of adaptive/],
    ["adaptive2:2:exact:exact", /accept given twice/],
    ["ideal:9", /--window must be an integer in 1\.\.8, got '9'/],
    ["adaptive:4:3", /--max-window must be an integer in 4\.\.8, got '3'/],
  ];
  for (const [text, re] of refused) {
    assert.throws(
      () => readSchedule(text, {}, 8, FLAG_SPELLING),
      (e) => e instanceof ValidationError && re.test(e.message),
      text,
    );
  }
});

Deno.test("messages name settings as they were written", () => {
  assert.throws(
    () => resolveSchedule("ideal", { draft: 3, window: 2 }, 8, JOB_SPELLING),
    /^ValidationError: "draft" only applies to schedule sjd\|ideal-sjd\|paper-sjd$/,
  );
  assert.throws(
    () => resolveSchedule("adaptive", { "min-window": "2", "max-window": "x" }, 8, FLAG_SPELLING),
    /--max-window must be an integer in 2\.\.8, got 'x'/,
  );
  assert.throws(
    () => resolveSchedule("ideal", { window: 2.5 }, 8, JOB_SPELLING),
    /"window" must be an integer in 1\.\.8, got 2\.5/,
  );
});
