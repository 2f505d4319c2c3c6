/**
 * A model directory's chat template (untrusted Jinja, through `@huggingface/jinja`) rendered
 * within bounds, as the Python worker's safe_template.py does: in a Web Worker of its own
 * (template_worker.ts) that is terminated after {@linkcode MAX_RENDER_MS}, with `range()` capped
 * at 10,000 items and the output at 1 Mi characters. A template that loops forever or explodes
 * is one line naming the template and the fix, and the process goes on.
 *
 * @module
 */

/** How long one batch of renderings may take. */
export const MAX_RENDER_MS = 5_000;

/**
 * Render `source` (named `where` in errors) once per context, in a worker of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderBounded } from "./bounded_template.ts";
 * const texts = await renderBounded("{{ a }}!", "t.jinja", [{ a: "hi" }, { a: "yo" }]);
 * assert.deepEqual(texts, ["hi!", "yo!"]);
 * await assert.rejects(
 *   renderBounded("{% for i in range(10**9) %}x{% endfor %}", "t.jinja", [{}]),
 *   /t\.jinja: the chat template asks for a range of 1000000000 items/,
 * );
 * ```
 */
export async function renderBounded(
  source: string,
  where: string,
  contexts: Record<string, unknown>[],
  timeoutMs = MAX_RENDER_MS,
): Promise<string[]> {
  const worker = new Worker(new URL("./template_worker.ts", import.meta.url), { type: "module" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const ask = (message: unknown) =>
      new Promise<string[]>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent) => {
          const reply = e.data as { texts?: string[]; error?: string };
          if (reply.error !== undefined) reject(new Error(reply.error));
          else resolve(reply.texts!);
        };
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          reject(new Error(String(e.message).split("\n")[0]));
        };
        worker.postMessage(message);
      });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`takes more than ${timeoutMs / 1000} s to render`)),
        timeoutMs,
      );
    });
    return await Promise.race([
      (async () => {
        await ask({ source });
        return await ask({ contexts });
      })(),
      timeout,
    ]);
  } catch (e) {
    throw new Error(
      `${where}: the chat template ${(e as Error).message}; use the model's own chat template`,
    );
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
}
