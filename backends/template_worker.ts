/**
 * The Web Worker that renders an untrusted chat template (backends/bounded_template.ts): it
 * parses the template once, then renders each context it is sent as `Template.render` does but
 * with `range()` capped (and no clock: `strftime_now` is not offered); the caller bounds the
 * time by terminating it. Messages in: `{ source }` then `{ contexts }`; out:
 * `{ texts }` or `{ error }` (one line).
 *
 * @module
 */

import { Environment, Interpreter, Template } from "@huggingface/jinja";

/** Most items one `range()` of a template may ask for (the worker's safe_template.py too). */
const MAX_RANGE = 10_000;
/** Longest rendering, characters. */
const MAX_OUTPUT_CHARS = 1 << 20;

function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const items = Math.max(0, Math.ceil((stop - start) / step));
  if (items > MAX_RANGE) {
    throw new Error(`asks for a range of ${items} items, more than ${MAX_RANGE}`);
  }
  return Array.from({ length: items }, (_, i) => start + i * step);
}

let template: Template | null = null;

/** What Template.render does, with its globals but a bounded `range()`. */
function render(parsed: Template, context: Record<string, unknown>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    range: boundedRange,
    raise_exception: (message: unknown) => {
      throw new Error(`raised: ${message}`);
    },
  };
  for (const [key, value] of Object.entries({ ...globals, ...context })) env.set(key, value);
  return String(new Interpreter(env).run(parsed.parsed).value);
}

/** This worker's scope (the lib types `self` as a window). */
const scope = self as unknown as {
  onmessage: (event: MessageEvent) => void;
  postMessage: (message: unknown) => void;
};

scope.onmessage = (event: MessageEvent) => {
  const data = event.data as { source?: string; contexts?: Record<string, unknown>[] };
  try {
    if (typeof data.source === "string") {
      template = new Template(data.source);
      scope.postMessage({ texts: [] });
      return;
    }
    const texts = (data.contexts ?? []).map((context) => {
      const text = render(template!, context);
      if (text.length > MAX_OUTPUT_CHARS) {
        throw new Error(`renders ${text.length} characters, more than ${MAX_OUTPUT_CHARS}`);
      }
      return text;
    });
    scope.postMessage({ texts });
  } catch (e) {
    scope.postMessage({ error: String((e as Error)?.message ?? e).split("\n")[0] });
  }
};
