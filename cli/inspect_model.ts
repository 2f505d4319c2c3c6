/**
 * `zipar inspect --model PATH`: what a model directory (or LlamaGen `.pt`) holds, read by the
 * Python worker without loading the model (backends/python/describe.ts): family and layout (the
 * official download or a converted copy), grid and EOL, vocabularies, weights, tokenizer and image
 * decoder — and for each missing piece which file to add and where.
 *
 * @module
 */

import type { ModelDescription } from "../backends/python/describe.ts";

function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0, v = n;
  while (v >= 1000 && i < units.length - 1) [v, i] = [v / 1000, i + 1];
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/**
 * A model description as aligned text: one line a property, a missing piece as `missing: FIX`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderModelText } from "./inspect_model.ts";
 * const text = renderModelText({
 *   path: "m", family: "janus", layout: "official", download: "deepseek-ai/Janus-Pro-7B",
 *   modelType: "multi_modality", prefix: 1, grid: [24, 24], eol: false, vocab: 16384,
 *   textVocab: 102400, layers: 30, hidden: 4096, context: 16384,
 *   weights: { files: 2, bytes: 14840868118, parameters: 7420434059, dtype: "bfloat16" },
 *   tokenizer: { found: true, files: ["tokenizer.json"] },
 *   decoder: { found: false, fix: "download it" },
 * });
 * assert.match(text, /^family +janus, official layout \(deepseek-ai\/Janus-Pro-7B\)$/m);
 * assert.match(text, /^grid +24x24 tokens, no end-of-line tokens$/m);
 * assert.match(text, /^weights +2 files, 14\.8 GB, 7\.42 B parameters, bfloat16$/m);
 * assert.match(text, /^decoder +missing: download it$/m);
 * ```
 */
export function renderModelText(d: ModelDescription): string {
  const part = (p: ModelDescription["decoder"] | null, found: string) =>
    p === null ? "none (class-conditional)" : p.found ? found : `missing: ${p.fix}`;
  const vocab = [
    d.vocab === null ? null : `${d.vocab} image tokens`,
    d.textVocab === null ? null : `${d.textVocab} text tokens`,
  ].filter(Boolean).join(", ");
  const model = [
    d.layers === null ? null : `${d.layers} layers`,
    d.hidden === null ? null : `width ${d.hidden}`,
    d.context === null ? null : `context ${d.context}`,
  ].filter(Boolean).join(", ");
  const rows: [string, string][] = [
    ["path", d.path],
    ["family", `${d.family}, ${d.layout} layout (${d.download})`],
    ...(d.modelType ? [["model_type", d.modelType] as [string, string]] : []),
    [
      "grid",
      `${d.grid[0]}x${d.grid[1]} tokens, ${
        d.eol ? "an end-of-line token after each row" : "no end-of-line tokens"
      }`,
    ],
    ["vocabulary", vocab || "unknown"],
    ["model", model || "unknown"],
    [
      "weights",
      `${d.weights.files} file${d.weights.files === 1 ? "" : "s"}, ${bytes(d.weights.bytes)}, ${
        count(d.weights.parameters)
      } parameters, ${d.weights.dtype ?? "unknown dtype"}`,
    ],
    ["tokenizer", part(d.tokenizer, (d.tokenizer?.files ?? []).join(", "))],
    ["decoder", part(d.decoder, d.decoder.where ?? "found")],
  ];
  return rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join("\n") + "\n";
}
