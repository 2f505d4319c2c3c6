/**
 * The tiny random models of the builder modules in testing/python/tiny_models/
 * (`tiny_models.emu3`, `tiny_models.llamagen`, …), built once per test run through
 * testing/model_cache.ts and the file's testing/python_runner.ts, then copied into the asking
 * file's own folder: a file may write into or corrupt its copy without touching anyone else's.
 *
 * ```ts ignore
 * import { tinyModel } from "../../testing/tiny_models.ts";
 * const dir = await tinyModel({
 *   python: PYTHON!,
 *   module: "tiny_models.lumina",
 *   name: "test-64",
 *   args: (out) => [out, "--preset", "test"],
 *   to: join(myTempDir, "test-64"),
 * });
 * ```
 *
 * @module
 */

import { cachedModel, copyTree } from "./model_cache.ts";
import { CHECKS_DIR, runModule, WORKER_DIR } from "./python_runner.ts";

/** What {@linkcode tinyModel} builds and where it copies it. */
export interface TinyModelOptions {
  /** The python that runs the builder. */
  python: string;
  /** The builder module (`tiny_models.emu3`, in testing/python/). */
  module: string;
  /** The file or folder name the builder writes (kept in the copy: some families read it). */
  name: string;
  /** The builder's arguments for the output path `out`. */
  args: (out: string) => string[];
  /** Where the copy goes (a path that does not exist yet). */
  to: string;
}

/** Build (once a run) and copy the tiny model of `options`; returns `options.to`. */
export async function tinyModel(options: TinyModelOptions): Promise<string> {
  const built = await cachedModel({
    name: options.name,
    key: [options.module, options.args("<out>")],
    // The builders (testing/python/) and the worker modules they import: either changed rebuilds.
    sources: [WORKER_DIR, CHECKS_DIR],
    build: (out) => runModule(options.python, options.module, options.args(out)),
  });
  await copyTree(built, options.to);
  return options.to;
}
