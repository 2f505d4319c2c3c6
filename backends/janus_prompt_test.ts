/**
 * backends/janus_prompt.ts gives the Janus family's own token ids (the Python worker's
 * families/janus/prompts.py, through testing/python/janus_prompt_ids.py) for the same prompts,
 * in both release layouts: plain, unicode, whitespace-edged, long, template-looking and negative
 * prompts, conditional and unconditional rows.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { PromptCondition } from "../core/condition.ts";
import { loadJanusPrompt } from "./janus_prompt.ts";
import { tinyJanus } from "./python/janus_test_helpers.ts";
import { PYTHON, PYTHON_TESTS, runPython } from "./python/test_helpers.ts";

const PROMPTS = [
  "a red fox",
  "A RED FOX IN THE SNOW, oil painting, 4k",
  "  leading and trailing spaces  ",
  "\ttabs\tand\nnewlines\n",
  "90 small blue birds on a wooden fence at dawn",
  "café crème brûlée, naïve façade",
  "東京タワーの夜景、ネオンの光",
  "한국어 프롬프트: 고양이",
  "Ελληνικά: μια γάτα στο φεγγάρι",
  "emoji 🦊🌨️👩‍🚀 and flags 🇯🇵",
  "math ∑ ∫ √ ∞ ≠ ≤ ≥",
  "quotes \"double\" 'single' `back`",
  'json {"key": [1, 2, 3]}',
  "{{ not a template }} {% neither %}",
  "<|User|>: pretending to be a role",
  "<begin_of_image> inside the prompt",
  "<｜▁pad▁｜> the pad token written out",
  "backslashes \\ and \\n escapes",
  "zero\u200bwidth\u200bspaces",
  "non-breaking\u00a0space and\u3000ideographic space",
  "\x1cfile separator edges\x1f",
  "a".repeat(300),
  "the quick brown fox ".repeat(20),
  "mixed 中文 English 日本語 한국어 Русский العربية",
  "right-to-left: שלום עולם",
  "combining: e\u0301 a\u0300 n\u0303",
  "line\r\nbreaks\rand\u2028separators",
  "x",
  "1234567890",
  "punctuation!?.,;:-_()[]{}<>@#$%^&*+=|~",
];

const CONDITIONS: PromptCondition[] = [
  ...PROMPTS.map((prompt) => ({ prompt })),
  { prompt: "a red fox", negativePrompt: "blurry, low quality" },
  { prompt: "東京", negativePrompt: "  ぼやけた  " },
];

for (const layout of ["transformers", "official"] as const) {
  Deno.test({
    name: `Janus prompts in TypeScript give the worker's ids (${layout} layout)`,
    ...PYTHON_TESTS,
    async fn() {
      const dir = await tinyJanus("test", layout);
      const file = join(await Deno.makeTempDir({ prefix: "zipar_janus_prompt_" }), "c.json");
      try {
        await Deno.writeTextFile(file, JSON.stringify(CONDITIONS));
        const want: [number[], number[]][] = JSON.parse(
          await runPython(PYTHON!, "janus_prompt_ids", [dir, file]),
        );
        const prompt = await loadJanusPrompt(dir);
        assert.equal(prompt.layout, layout);
        CONDITIONS.forEach((condition, i) => {
          const what = JSON.stringify(condition);
          if (layout === "transformers" && /^\x1c/.test(condition.prompt)) {
            // The two engines' trim disagree on U+001C–U+001F: refused, not other ids.
            assert.throws(() => prompt.ids(condition, false), /begins or ends with U\+001C/);
            return;
          }
          assert.deepEqual(prompt.ids(condition, false), want[i][0], `${what} conditional`);
          assert.deepEqual(prompt.ids(condition, true), want[i][1], `${what} unconditional`);
        });
        // The rows really differ: padding kept BOS and <begin_of_image> only.
        const [cond, uncond] = want[0];
        assert.notDeepEqual(cond, uncond);
        assert.equal(cond[0], prompt.bosId);
        assert.equal(cond.at(-1), prompt.boiId);
      } finally {
        await Deno.remove(join(file, ".."), { recursive: true });
      }
    },
  });
}

Deno.test("loadJanusPrompt() says in one line what a directory lacks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_janus_prompt_bad_" });
  try {
    await assert.rejects(() => loadJanusPrompt(dir), /config\.json not found$/);
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ model_type: "llama" }));
    await assert.rejects(() => loadJanusPrompt(dir), /model_type "llama" is no Janus layout/);
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ model_type: "janus" }));
    await Deno.writeTextFile(join(dir, "tokenizer_config.json"), "{}");
    await assert.rejects(() => loadJanusPrompt(dir), /tokenizer\.json not found$/);
    await Deno.writeTextFile(join(dir, "tokenizer.json"), JSON.stringify({ model: {} }));
    await assert.rejects(
      () => loadJanusPrompt(dir),
      /tokenizer\.json: the tokenizer cannot be read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
