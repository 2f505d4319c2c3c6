import assert from "node:assert/strict";
import { join } from "node:path";
import { openOutput } from "./output_file.ts";
import { pendingTemps } from "./atomic_write.ts";
import { deviceNode, readFifo, unixSocket } from "./test_nodes.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_output_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("openOutput() writes a regular file atomically and keeps its permission bits", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a.json");
    await Deno.writeTextFile(path, "old");
    await Deno.chmod(path, 0o600);
    const out = await openOutput(path);
    assert.equal(out.kind, "atomic");
    await out.write(bytes("new"));
    assert.equal(await Deno.readTextFile(path), "old");
    await out.commit();
    assert.equal(await Deno.readTextFile(path), "new");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(names(dir), ["a.json"]);
  });
});

Deno.test("openOutput() keeps a symlink a link and writes its target atomically", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "real"));
    await Deno.writeTextFile(join(dir, "real", "t.json"), "old");
    await Deno.symlink("real/t.json", join(dir, "link.json"));
    const out = await openOutput(join(dir, "link.json"));
    await out.write(bytes("new"));
    await out.commit();
    assert.equal((await Deno.lstat(join(dir, "link.json"))).isSymlink, true);
    assert.equal(await Deno.readTextFile(join(dir, "real", "t.json")), "new");
    assert.deepEqual(names(join(dir, "real")), ["t.json"]);
    // A dangling link creates its target, as a shell's `>` does.
    await Deno.symlink("real/new.json", join(dir, "dangling.json"));
    const fresh = await openOutput(join(dir, "dangling.json"));
    await fresh.write(bytes("x"));
    await fresh.commit();
    assert.equal((await Deno.lstat(join(dir, "dangling.json"))).isSymlink, true);
    assert.equal(await Deno.readTextFile(join(dir, "real", "new.json")), "x");
    // A loop is one line.
    await Deno.symlink("loop2", join(dir, "loop1"));
    await Deno.symlink("loop1", join(dir, "loop2"));
    await assert.rejects(
      () => openOutput(join(dir, "loop1")),
      /cannot write .*loop1: .*symbolic links/,
    );
  });
});

Deno.test("openOutput() writes through a character device and never replaces it", async () => {
  await withDir(async (dir) => {
    const sink = await deviceNode(dir, "null");
    const out = await openOutput(sink);
    assert.equal(out.kind, "through");
    await out.write(bytes("discarded"));
    await out.commit();
    assert.equal((await Deno.lstat(sink)).isCharDevice, true);
    assert.deepEqual(pendingTemps(), []);
  });
});

Deno.test("openOutput() on a full device fails with 'No space left on device'", async () => {
  await withDir(async (dir) => {
    const full = await deviceNode(dir, "full");
    const out = await openOutput(full);
    await assert.rejects(
      () => out.write(bytes("x")),
      (e: Error) => e.message === `cannot write ${full}: No space left on device`,
    );
    assert.equal((await Deno.lstat(full)).isCharDevice, true);
  });
});

Deno.test("openOutput() writes through a FIFO to its reader", async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, "pipe");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const read = readFifo(fifo);
    const out = await openOutput(fifo);
    await out.write(bytes("through the pipe"));
    await out.commit();
    assert.equal(await read.result(), "through the pipe");
    assert.equal((await Deno.lstat(fifo)).isFifo, true);
  });
});

Deno.test("openOutput() refuses directories and sockets, names causes in one line", async () => {
  await withDir(async (dir) => {
    await assert.rejects(() => openOutput(dir), /it is a directory/);
    const socket = join(dir, "s.sock");
    await unixSocket(socket);
    await assert.rejects(() => openOutput(socket), /it is a socket; write to a regular file/);
    assert.equal((await Deno.lstat(socket)).isSocket, true);
    await assert.rejects(
      () => openOutput(join(dir, "no", "such", "a.json")),
      /cannot write .*a\.json: directory .*such does not exist$/,
    );
    await Deno.writeTextFile(join(dir, "file"), "");
    await assert.rejects(
      () => openOutput(join(dir, "file", "a.json")),
      (e: Error) =>
        !e.message.includes(".tmp-") && /cannot write .*: .*not a directory/.test(e.message),
    );
  });
});
