/**
 * A model directory's chat template (untrusted Jinja, through `@huggingface/jinja`) rendered
 * within bounds, as the Python worker's safe_template.py does: the interpreter checks the clock
 * as it evaluates and stops after {@linkcode MAX_RENDER_MS}, `range()` is capped at 10,000
 * items and the output at 1 Mi characters, and there is no clock for the template to read
 * (`strftime_now` is not offered). A template that loops forever or explodes is one line naming
 * the template and the fix, and the process goes on with nothing left running. (A Web Worker
 * would not do: Deno's `terminate()` does not stop a worker spinning in a synchronous loop.)
 *
 * @module
 */

import { Environment, Interpreter, Template } from "@huggingface/jinja";

/** How long one batch of renderings may take. */
export const MAX_RENDER_MS = 5_000;
/** Most items one `range()` of a template may ask for (the worker's safe_template.py too). */
const MAX_RANGE = 10_000;
/** Longest rendering, characters. */
const MAX_OUTPUT_CHARS = 1 << 20;
/** Evaluations between two looks at the clock. */
const CHECK_EVERY = 1024;

class TemplateLimit extends Error {}

/** Jinja's interpreter, stopped past its deadline. */
class BoundedInterpreter extends Interpreter {
  #steps = 0;
  readonly #deadline: number;
  readonly #limitMs: number;

  constructor(env: Environment, deadline: number, limitMs: number) {
    super(env);
    this.#deadline = deadline;
    this.#limitMs = limitMs;
  }

  override evaluate(...args: Parameters<Interpreter["evaluate"]>) {
    if (++this.#steps % CHECK_EVERY === 0 && performance.now() > this.#deadline) {
      throw new TemplateLimit(`takes more than ${this.#limitMs / 1000} s to render`);
    }
    return super.evaluate(...args);
  }
}

function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new TemplateLimit("calls range() with step 0");
  const items = Math.max(0, Math.ceil((stop - start) / step));
  if (items > MAX_RANGE) {
    throw new TemplateLimit(`asks for a range of ${items} items, more than ${MAX_RANGE}`);
  }
  return Array.from({ length: items }, (_, i) => start + i * step);
}

/**
 * Render `source` (named `where` in errors) once per context, all within `timeoutMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderBounded } from "./bounded_template.ts";
 * assert.deepEqual(renderBounded("{{ a }}!", "t.jinja", [{ a: "hi" }, { a: "yo" }]), ["hi!", "yo!"]);
 * assert.throws(
 *   () => renderBounded("{% for i in range(10**9) %}x{% endfor %}", "t.jinja", [{}]),
 *   /t\.jinja: the chat template asks for a range of 1000000000 items/,
 * );
 * ```
 */
export function renderBounded(
  source: string,
  where: string,
  contexts: Record<string, unknown>[],
  timeoutMs = MAX_RENDER_MS,
): string[] {
  try {
    const template = new Template(source);
    const deadline = performance.now() + timeoutMs;
    return contexts.map((context) => {
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
          throw new TemplateLimit(`raised: ${message}`);
        },
      };
      for (const [key, value] of Object.entries({ ...globals, ...context })) env.set(key, value);
      const text = String(
        new BoundedInterpreter(env, deadline, timeoutMs).run(template.parsed).value,
      );
      if (text.length > MAX_OUTPUT_CHARS) {
        throw new TemplateLimit(`renders ${text.length} characters, more than ${MAX_OUTPUT_CHARS}`);
      }
      return text;
    });
  } catch (e) {
    const why = String((e as Error)?.message ?? e).split("\n")[0];
    throw new Error(`${where}: the chat template ${why}; use the model's own chat template`);
  }
}
