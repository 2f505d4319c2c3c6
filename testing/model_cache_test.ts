import assert from "node:assert/strict";
import { join } from "node:path";
import { cachedModel, copyTree } from "./model_cache.ts";

/** Run `fn` with a fresh folder for the entries (given as `root`: the environment stays). */
async function withCacheRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "zipar-cache-test-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("cachedModel() builds an entry once and hands the same path to every caller", async () => {
  await withCacheRoot(async (root) => {
    let builds = 0;
    const build = async (out: string) => {
      builds++;
      await Deno.mkdir(out);
      await Deno.writeTextFile(join(out, "w"), "weights");
    };
    const options = { name: "m", key: ["k", 1], build, root };
    const [a, b] = await Promise.all([cachedModel(options), cachedModel(options)]);
    assert.equal(a, b);
    assert.equal(builds, 1);
    assert.ok(a.startsWith(root) && a.endsWith("/m"), a);
    assert.equal(await Deno.readTextFile(join(a, "w")), "weights");
    const other = await cachedModel({ ...options, key: ["k", 2] });
    assert.notEqual(other, a);
    assert.equal(builds, 2);
  });
});

Deno.test("cachedModel() keys on its sources' contents and keeps no failed build", async () => {
  await withCacheRoot(async (root) => {
    const write = (out: string) => Deno.writeTextFile(out, "x");
    const keyed = async (content: string, file: string) => {
      await Deno.writeTextFile(join(root, file), content);
      return await cachedModel({
        root,
        name: "f",
        key: "k",
        sources: [join(root, file)],
        build: write,
      });
    };
    const one = await keyed("v = 1\n", "a.py");
    assert.equal(await keyed("v = 1\n", "b.py"), one, "the same sources elsewhere: the same entry");
    assert.notEqual(await keyed("v = 2\n", "c.py"), one, "changed sources: a new entry");

    let tries = 0;
    const failing = {
      root,
      name: "bad",
      key: "bad",
      build: () => {
        tries++;
        return Promise.reject(new Error("the builder broke"));
      },
    };
    await assert.rejects(cachedModel(failing), /the builder broke/);
    await assert.rejects(cachedModel(failing), /the builder broke/);
    assert.equal(tries, 2, "a failed build is tried again, not remembered");
    const empty = { root, name: "none", key: "none", build: () => Promise.resolve() };
    await assert.rejects(cachedModel(empty), /wrote nothing at its path/);
    const left = [];
    for await (const e of Deno.readDir(root)) if (e.name.startsWith(".staging-")) left.push(e);
    assert.deepEqual(left, [], "no staging folder is left behind");
  });
});

Deno.test({
  name: "cachedModel() from two isolates at once: one builds, the other waits for its entry",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withCacheRoot(async (root) => {
      const log = join(root, "builds.log");
      const url = new URL("./model_cache.ts", import.meta.url).href;
      const source = `
        import { cachedModel } from ${JSON.stringify(url)};
        self.onmessage = async () => {
          const path = await cachedModel({
            root: ${JSON.stringify(root)},
            name: "shared",
            key: "two-isolates",
            build: async (out) => {
              await Deno.writeTextFile(${JSON.stringify(log)}, "built\\n", { append: true });
              await new Promise((r) => setTimeout(r, 300));
              await Deno.writeTextFile(out, "model");
            },
          });
          self.postMessage(path);
        };`;
      const script = join(root, "worker.ts");
      await Deno.writeTextFile(script, source);
      const workers = [0, 1].map(() => new Worker(`file://${script}`, { type: "module" }));
      try {
        const paths = await Promise.all(
          workers.map((w) =>
            new Promise<string>((resolve, reject) => {
              w.onmessage = (e) => resolve(e.data);
              w.onerror = (e) => reject(new Error(e.message));
              w.postMessage("go");
            })
          ),
        );
        assert.equal(paths[0], paths[1]);
        assert.equal(await Deno.readTextFile(paths[0]), "model");
        assert.equal(await Deno.readTextFile(log), "built\n", "built once");
      } finally {
        workers.forEach((w) => w.terminate());
      }
    });
  },
});

Deno.test("copyTree() copies a folder's whole tree and a single file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "a", "b"), { recursive: true });
    await Deno.writeTextFile(join(dir, "a", "b", "c.txt"), "deep");
    await Deno.writeTextFile(join(dir, "a", "top.txt"), "top");
    await copyTree(join(dir, "a"), join(dir, "copy"));
    assert.equal(await Deno.readTextFile(join(dir, "copy", "b", "c.txt")), "deep");
    assert.equal(await Deno.readTextFile(join(dir, "copy", "top.txt")), "top");
    await copyTree(join(dir, "a", "top.txt"), join(dir, "one.txt"));
    assert.equal(await Deno.readTextFile(join(dir, "one.txt")), "top");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
