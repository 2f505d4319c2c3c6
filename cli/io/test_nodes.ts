/**
 * Odd output targets for tests: device nodes, FIFOs and unix sockets. As root, a test gets private copies of
 * `/dev/null` and `/dev/full` (mknod in its own directory), so a regression that renames over
 * the node cannot delete the machine's real devices; otherwise the real ones, which a non-root
 * process cannot replace anyway.
 *
 * @module
 */

import { join } from "node:path";

const DEVICES = { null: [1, 3], full: [1, 7] } as const;

/** A character device that behaves as `/dev/<name>`, inside `dir` when we may make one. */
export async function deviceNode(dir: string, name: keyof typeof DEVICES): Promise<string> {
  const path = join(dir, `dev-${name}`);
  const [major, minor] = DEVICES[name];
  if (Deno.uid() === 0) {
    const made = await new Deno.Command("mknod", {
      args: ["-m", "666", path, "c", String(major), String(minor)],
      stderr: "null",
    }).output().catch(() => null);
    if (made?.success) return path;
  }
  return `/dev/${name}`;
}

/** A reader of a FIFO, started before its writer (which blocks until a reader opens it). */
export interface FifoReader {
  /**
   * What came through the FIFO, waiting at most `ms` after the writer is done; a writer that
   * replaced the FIFO instead of writing into it leaves the reader blocked: it is then killed
   * and this resolves to null.
   */
  result(ms?: number): Promise<string | null>;
}

/** Start reading the FIFO at `path` with `cat`. */
export function readFifo(path: string): FifoReader {
  const child = new Deno.Command("cat", { args: [path], stdout: "piped" }).spawn();
  const output = child.output();
  return {
    async result(ms = 3000): Promise<string | null> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
      const done = await Promise.race([output, late]);
      clearTimeout(timer);
      if (done) return new TextDecoder().decode(done.stdout);
      child.kill("SIGKILL");
      await output;
      return null;
    },
  };
}

/**
 * A unix socket node at `path`, bound by a short `python3` (Deno's own `Deno.listen` on a unix
 * path needs net permission, which the test task does not grant). The node stays after the
 * binder exits, as a socket file does.
 */
export async function unixSocket(path: string): Promise<void> {
  const made = await new Deno.Command("python3", {
    args: ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path],
    stderr: "piped",
  }).output();
  if (!made.success) {
    throw new Error(`python3 could not bind ${path}: ${new TextDecoder().decode(made.stderr)}`);
  }
}
