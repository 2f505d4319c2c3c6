import assert from "node:assert/strict";
import { closeSharedWorkers, sharedWorker } from "./shared_worker.ts";

Deno.test("sharedWorker() makes one per key, retries a failed make, and closes all", async () => {
  const closed: string[] = [];
  let made = 0;
  const make = (name: string) => () => {
    made++;
    return Promise.resolve({ name, close: () => Promise.resolve(void closed.push(name)) });
  };
  const [a, b] = await Promise.all([sharedWorker("a", make("a")), sharedWorker("a", make("a"))]);
  assert.equal(a, b);
  assert.equal(made, 1);
  await sharedWorker("b", make("b"));
  assert.equal(made, 2);

  let tries = 0;
  const broken = () => {
    tries++;
    return Promise.reject(new Error("no worker"));
  };
  await assert.rejects(sharedWorker("c", broken), /no worker/);
  await assert.rejects(sharedWorker("c", broken), /no worker/);
  assert.equal(tries, 2, "a failed start is not kept");

  await closeSharedWorkers();
  assert.deepEqual(closed.sort(), ["a", "b"]);
  await sharedWorker("a", make("a"));
  assert.equal(made, 3, "after closing, the next use starts a new one");
  await closeSharedWorkers();
});
