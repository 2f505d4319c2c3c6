/**
 * The `zipar` command: dispatch to its subcommands (the `COMMANDS` table: plan, generate,
 * inspect, batch, bench, decode, convert, demo, eval; `zipar --help` lists them); one-line errors;
 * exit codes 0 ok, 1 runtime error, 2 usage error, 130 interrupted (SIGINT; 143 for SIGTERM,
 * whose one owner is cli/io/interrupt.ts); a broken stdout pipe
 * (`zipar generate … | head -c 10`) ends the run quietly with 0.
 *
 * @module
 */

import { ValidationError } from "./flags/args.ts";
import { OptionError } from "../backends/option_error.ts";
import { batchCommand } from "./batch.ts";
import { benchCommand } from "./bench.ts";
import { convertCommand } from "./convert.ts";
import { decodeCommand } from "./decode.ts";
import { demoCommand } from "./demo.ts";
import { evalCommand } from "./eval.ts";
import { generateCommand } from "./generate.ts";
import { inspectCommand } from "./inspect.ts";
import { installSignalOwner, interrupted } from "./io/interrupt.ts";
import { denoIo, type Io, StdoutClosedError } from "./io/io.ts";
import { printable } from "./io/printable.ts";
import { planCommand } from "./plan.ts";
import { VERSION } from "./generation/version.ts";

/** `zipar --help`. */
export const MAIN_USAGE =
  `zipar ${VERSION}: ZipAR parallel decoding for raster-order autoregressive image models

Usage: zipar <command> [options]

Commands:
  plan       count the forward passes of a schedule; show which pass decodes each cell
  generate   generate token grids with a backend (mock, python, webgpu) as JSON or .npy
  inspect    validate a token-grid file (or stdin) and summarize it
  batch      run a JSON Lines file of generation jobs: resumable, shardable
  bench      time raster and ZipAR windows side by side on one backend
  decode     decode token grids to PNG images (demo model or LlamaGen VQ-16)
  convert    convert official LlamaGen checkpoints (GPT, VQ-16) for the backends
  demo       generate a contact sheet with the built-in Fashion-MNIST demo model
  eval       compare settings on a model: passes, time, class accuracy, Fréchet distance

Options:
  -h, --help       show this help; 'zipar <command> --help' for a command
  -V, --version    print the version

Exit codes: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (SIGINT; 143 SIGTERM).
Environment: NO_COLOR turns colour off; ZIPAR_DEBUG=1 prints stack traces.
`;

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  plan: planCommand,
  generate: generateCommand,
  inspect: inspectCommand,
  batch: batchCommand,
  bench: benchCommand,
  decode: decodeCommand,
  convert: convertCommand,
  demo: demoCommand,
  eval: evalCommand,
};

/** Run the CLI with `args`; returns the exit code. Never throws. */
export async function main(args: string[], io: Io): Promise<number> {
  const [name, ...rest] = args;
  try {
    if (name === undefined || name === "-h" || name === "--help" || name === "help") {
      const sub = name === "help" ? rest[0] : undefined;
      if (sub !== undefined && sub in COMMANDS) return await COMMANDS[sub](["--help"], io);
      if (sub !== undefined) {
        throw new ValidationError(
          `unknown command '${sub}'`,
          "Run 'zipar --help' for the commands.",
        );
      }
      if (name === undefined) {
        io.writeStderr(MAIN_USAGE);
        return 2;
      }
      await io.writeStdout(new TextEncoder().encode(MAIN_USAGE));
      return 0;
    }
    if (name === "-V" || name === "--version") {
      await io.writeStdout(new TextEncoder().encode(`zipar ${VERSION}\n`));
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) {
      throw new ValidationError(
        name.startsWith("-") ? `unknown option ${name}` : `unknown command '${name}'`,
        "Run 'zipar --help' for the commands.",
      );
    }
    try {
      return await command(rest, io);
    } catch (e) {
      if (e instanceof ValidationError && e.hint === undefined) {
        throw new ValidationError(e.message, `Run 'zipar ${name} --help' for usage.`);
      }
      throw e;
    }
  } catch (e) {
    return report(e, io);
  }
}

function report(e: unknown, io: Io): number {
  if (e instanceof StdoutClosedError) return 0;
  if (interrupted()) return 1; // the signal's owner reports and exits; this is its fallout
  const debug = io.env("ZIPAR_DEBUG") === "1";
  const message = oneLine(e instanceof Error ? e.message : String(e));
  if (e instanceof ValidationError) {
    io.writeStderr(
      `zipar: ${message.replace(/\.$/, "")}. ${
        oneLine(e.hint ?? "Run 'zipar --help' for usage.")
      }\n`,
    );
    if (debug) io.writeStderr(`${e.stack}\n`);
    return 2;
  }
  io.writeStderr(`zipar: ${message}\n`);
  if (debug && e instanceof Error) io.writeStderr(`${e.stack}\n`);
  return e instanceof OptionError ? 2 : 1; // an option the model refused is a usage error
}

/** One line, its control characters escaped (cli/io/printable.ts). */
function oneLine(text: string): string {
  const line = text.split("\n").map((s) => s.trim()).filter(Boolean).join(" ");
  return printable(line) || "unknown error";
}

if (import.meta.main) {
  const io = denoIo();
  installSignalOwner(io);
  const code = await main(Deno.args, io);
  if (!interrupted()) Deno.exit(code); // else the owner exits once it has cleaned up
}
