/**
 * The CLI's backend factory: the mock in-process, and the python and webgpu backends loaded
 * by dynamic import only when asked for, with a one-line error when their module is missing.
 *
 * @module
 */

import type { Backend } from "../core/mod.ts";
import { MockBackend, type MockOptions } from "../backends/mock/mock.ts";

/** Backend names on the command line. */
export type BackendName = "mock" | "python" | "webgpu";
/** The backend names, for argument parsing. */
export const BACKENDS: readonly BackendName[] = ["mock", "python", "webgpu"];

/** What to open. */
export type BackendSpec =
  | { backend: "mock"; mock: MockOptions }
  | { backend: "python"; model: string; python?: string; device?: string; dtype?: string }
  | { backend: "webgpu"; model: string };

/** Module (relative to this file) and factory function of each external backend. */
export type ExternalBackends = Record<"python" | "webgpu", { module: string; factory: string }>;

/** Where the python and webgpu backends live. */
export const EXTERNAL: ExternalBackends = {
  python: { module: "../backends/python/client.ts", factory: "openPythonBackend" },
  webgpu: { module: "../backends/webgpu/backend.ts", factory: "openWebgpuBackend" },
};

/**
 * Open a backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openBackend } from "./backend_factory.ts";
 * const backend = await openBackend({ backend: "mock", mock: { height: 4, width: 4 } });
 * assert(backend.info.width === 4);
 * await backend.close();
 * ```
 */
export async function openBackend(spec: BackendSpec, external = EXTERNAL): Promise<Backend> {
  if (spec.backend === "mock") return new MockBackend(spec.mock);
  const { module, factory } = external[spec.backend];
  const url = new URL(module, import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    throw new Error(
      `the ${spec.backend} backend is not available in this build (${
        module.replace(/^(\.\.\/)+/, "")
      } is missing)`,
    );
  }
  const mod = await import(url.href);
  const open = mod[factory];
  if (typeof open !== "function") {
    throw new Error(`the ${spec.backend} backend module does not export ${factory}()`);
  }
  const { backend: _, ...options } = spec;
  return await open(options) as Backend;
}
