import assert from "node:assert/strict";
import { AtomicFile, pendingTemps, removePendingSync } from "./atomic_write.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_atomic_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("AtomicFile writes to a hidden temp file beside the target, then renames", async () => {
  await withDir(async (dir) => {
    const out = await AtomicFile.create(`${dir}/a.json`);
    assert.match(names(dir)[0], /^\.a\.json\.tmp-\d+-\w+$/);
    await out.write(new TextEncoder().encode("{}"));
    assert.deepEqual(pendingTemps(), [out.tempPath]);
    await out.commit();
    assert.deepEqual(names(dir), ["a.json"]);
    assert.deepEqual(pendingTemps(), []);
    await assert.rejects(() => out.write(new Uint8Array(1)), /already committed/);
  });
});

Deno.test("AtomicFile.abort() removes the temp file and keeps an existing target", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.json`, "old");
    const out = await AtomicFile.create(`${dir}/a.json`);
    await out.write(new TextEncoder().encode("new"));
    await out.abort();
    await out.abort();
    assert.deepEqual(names(dir), ["a.json"]);
    assert.equal(await Deno.readTextFile(`${dir}/a.json`), "old");
  });
});

Deno.test("AtomicFile.commit() failure removes the temp file", async () => {
  await withDir(async (dir) => {
    const out = await AtomicFile.create(`${dir}/a.json`);
    await Deno.mkdir(`${dir}/a.json`); // the target became a non-empty directory
    await Deno.writeTextFile(`${dir}/a.json/x`, "");
    await assert.rejects(() => out.commit(), /cannot write/);
    assert.deepEqual(names(dir), ["a.json"]);
    assert.deepEqual(pendingTemps(), []);
  });
});

Deno.test("AtomicFile.create() fails early with one-line messages", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      () => AtomicFile.create(`${dir}/no/such/a.json`),
      /directory .* does not exist/,
    );
    await assert.rejects(() => AtomicFile.create(dir), /it is a directory/);
  });
});

Deno.test("removePendingSync() removes uncommitted temp files (the signal path)", async () => {
  await withDir(async (dir) => {
    await AtomicFile.create(`${dir}/a.json`);
    removePendingSync();
    assert.deepEqual(names(dir), []);
  });
});
