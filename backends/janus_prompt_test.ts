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

/**
 * The tiny Janus directory of `layout`; with `merges`, a copy whose tokenizer.json is a trained
 * BPE with regex splits and digits (testing/python/tiny_models/bpe_tokenizer.py).
 */
async function janusDir(layout: "transformers" | "official", merges: boolean, tmp: string) {
  const dir = await tinyJanus("test", layout);
  if (!merges) return dir;
  const copy = join(tmp, "model");
  await Deno.mkdir(copy);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && !/\.(safetensors|bin)$/.test(entry.name)) {
      await Deno.copyFile(join(dir, entry.name), join(copy, entry.name));
    }
  }
  await runPython(PYTHON!, "tiny_models.bpe_tokenizer", [copy]);
  return copy;
}

for (const layout of ["transformers", "official"] as const) {
  for (const merges of [false, true]) {
    Deno.test({
      name: `Janus prompts in TypeScript give the worker's ids (${layout} layout, ${
        merges ? "a trained BPE with regex splits" : "the byte-level tokenizer"
      })`,
      ...PYTHON_TESTS,
      async fn() {
        const tmp = await Deno.makeTempDir({ prefix: "zipar_janus_prompt_" });
        const file = join(tmp, "c.json");
        try {
          const dir = await janusDir(layout, merges, tmp);
          await Deno.writeTextFile(file, JSON.stringify(CONDITIONS));
          const want: [number[], number[]][] = JSON.parse(
            await runPython(PYTHON!, "janus_prompt_ids", [dir, file]),
          );
          const prompt = await loadJanusPrompt(dir);
          assert.equal(prompt.layout, layout);
          // All the sequences in one call, as a session opens them.
          const refused = (c: PromptCondition) =>
            layout === "transformers" && c.prompt.startsWith("\x1c");
          const kept = CONDITIONS.filter((c) => !refused(c));
          const got = await prompt.ids(
            kept.flatMap((condition) =>
              [false, true].map((unconditional) => ({ condition, unconditional }))
            ),
          );
          kept.forEach((condition, k) => {
            const i = CONDITIONS.indexOf(condition), what = JSON.stringify(condition);
            assert.deepEqual(got[2 * k], want[i][0], `${what} conditional`);
            assert.deepEqual(got[2 * k + 1], want[i][1], `${what} unconditional`);
          });
          for (const condition of CONDITIONS.filter(refused)) {
            // The two engines' trim disagree on U+001C–U+001F: refused, not other ids.
            await assert.rejects(
              prompt.ids([{ condition, unconditional: false }]),
              /begins or ends with U\+001C/,
            );
          }
          // The trained BPE merges: a repeated English phrase takes far fewer ids than bytes.
          const phrase = PROMPTS.indexOf("the quick brown fox ".repeat(20));
          if (merges) assert.ok(want[phrase][0].length < PROMPTS[phrase].length / 3, "merges");
          // The rows really differ: padding kept BOS and <begin_of_image> only.
          const [cond, uncond] = want[0];
          assert.notDeepEqual(cond, uncond);
          assert.equal(cond[0], prompt.bosId);
          assert.equal(cond.at(-1), prompt.boiId);
        } finally {
          await Deno.remove(tmp, { recursive: true });
        }
      },
    });
  }
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

Deno.test({
  name: "a hostile chat template fails at load in one line: endless loops, huge ranges and outputs",
  ...PYTHON_TESTS,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "zipar_janus_template_" });
    try {
      const dir = join(tmp, "model");
      await Deno.mkdir(dir);
      const made = await tinyJanus("test");
      for await (const e of Deno.readDir(made)) {
        if (!e.name.endsWith(".safetensors")) {
          await Deno.copyFile(join(made, e.name), join(dir, e.name));
        }
      }
      const cases: [string, RegExp][] = [
        ["{% for i in range(10**9) %}x{% endfor %}", /asks for a range of 1000000000 items/],
        [
          "{% for i in range(9999) %}{% for j in range(9999) %}{% for k in range(9999) %}" +
          "{% endfor %}{% endfor %}{% endfor %}",
          /takes more than 5 s to render/,
        ],
        [
          "{% for i in range(9999) %}{% for j in range(20) %}xxxxxxxxxx{% endfor %}{% endfor %}",
          /renders 1999800 characters, more than 1048576/,
        ],
        ["{{ raise_exception('no images here') }}", /raised: no images here/],
      ];
      for (const [template, want] of cases) {
        await Deno.writeTextFile(join(dir, "chat_template.jinja"), template);
        await assert.rejects(loadJanusPrompt(dir), (e: Error) => {
          assert.match(e.message, want);
          assert.match(e.message, /: the chat template .*; use the model's own chat template$/);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
