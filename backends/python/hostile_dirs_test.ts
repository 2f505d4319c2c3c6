/**
 * Model directories that lie about the model they hold, on the transformers-layout families
 * (tiny random Janus, Emu3 and Lumina directories, corrupted copies): each is refused in one line
 * when the worker loads it, before anything is built where the config alone tells — a missing
 * tensor, layer, decoder or generation head; a config of more or fewer layers than the weights, of
 * zero or a million layers, of another model's sub-config type; NaN or infinite weights; bytes
 * after a safetensors file's data; an index that names a device, a FIFO or a file outside the
 * directory; an image area beyond the grid cap.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../safetensors.ts";
import type { Tensor } from "../safetensors.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { openEmu3, tinyEmu3 } from "./emu3_test_helpers.ts";
import { openJanus, tinyJanus } from "./janus_test_helpers.ts";
import { tinyLumina } from "./lumina_test_helpers.ts";
import { oneLine, PYTHON_TESTS } from "./test_helpers.ts";
import { copyTree } from "../../testing/model_cache.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";

/** A worker that loads each directory without keeping it (`inspect`). */
function checker(): Promise<OracleBackend> {
  return sharedWorker("inspect", async () => openJanus(await tinyJanus()));
}

type Edit = (dir: string) => Promise<void>;

/** Rewrite DIR/model.safetensors through `change` (the tiny models are float32). */
function weights(change: (tensors: Map<string, Tensor>) => void): Edit {
  return async (dir) => {
    const file = join(dir, "model.safetensors");
    const { tensors, metadata } = await readSafetensors(file);
    change(tensors);
    await writeSafetensors(file, tensors, metadata);
  };
}

/** Set `path` (dotted) of DIR/config.json to `value`. */
function config(path: string, value: unknown): Edit {
  return async (dir) => {
    const file = join(dir, "config.json");
    const json = JSON.parse(await Deno.readTextFile(file));
    const keys = path.split(".");
    let at = json;
    for (const key of keys.slice(0, -1)) at = at[key];
    at[keys.at(-1)!] = value;
    await Deno.writeTextFile(file, JSON.stringify(json));
  };
}

const drop = (prefix: string) =>
  weights((t) => [...t.keys()].filter((k) => k.startsWith(prefix)).forEach((k) => t.delete(k)));

async function refused(base: string, cases: [string, Edit, RegExp][]): Promise<void> {
  const backend = await checker();
  const root = await Deno.makeTempDir({ prefix: "zipar-hostile-" });
  try {
    for (const [name, edit, pattern] of cases) {
      const dir = join(root, `${name}-64`); // a Lumina directory's name gives its size: 64 px
      await copyTree(base, dir);
      await edit(dir);
      await assert.rejects(backend.inspectCheckpoint(dir), oneLine(pattern), name);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test({
  name: "a Janus directory that lacks what its config describes is refused in one line",
  ...PYTHON_TESTS,
  async fn() {
    const lack = /the safetensors lack \d+ weights Janus's image generation runs \(first: /;
    await refused(await tinyJanus(), [
      ["no-head", drop("model.generation_head."), lack],
      ["no-layer-1", drop("model.language_model.layers.1."), lack],
      ["no-decoder", drop("model.vqmodel.decoder."), lack],
      ["no-embeddings", drop("model.generation_embeddings."), lack],
      ["more-layers", config("text_config.num_hidden_layers", 3), lack],
      [
        "fewer-layers",
        config("text_config.num_hidden_layers", 1),
        /holds weights of layer 1, but config\.json says 1 layers/,
      ],
      [
        "zero-layers",
        config("text_config.num_hidden_layers", 0),
        /text_config\.num_hidden_layers is 0; a model's num_hidden_layers is a whole number/,
      ],
      [
        "a-million-layers",
        config("text_config.num_hidden_layers", 1_000_000),
        /num_hidden_layers is 1000000; .* in 1\.\.256/,
      ],
      [
        "lying-width",
        config("text_config.hidden_size", 4096),
        /config\.json describes a model of about \d+\.\d M parameters, but the weight files hold/,
      ],
      [
        "another-text-model",
        config("text_config.model_type", "mistral"),
        /text_config\.model_type is 'mistral', not 'llama'/,
      ],
      [
        "nan",
        weights((t) => (t.get("model.generation_head.vision_head.weight")!.data[3] = NaN)),
        /tensor model\.generation_head\.vision_head\.weight holds NaN or infinite values/,
      ],
      [
        "inf",
        weights((t) => (t.get("model.language_model.norm.weight")!.data[0] = -Infinity)),
        /weights must be finite numbers/,
      ],
      [
        "trailing-bytes",
        async (dir) => {
          const file = await Deno.open(join(dir, "model.safetensors"), { append: true });
          await file.write(new Uint8Array(1 << 20));
          file.close();
        },
        /1048576 bytes after the last tensor's data/,
      ],
    ]);
  },
});

Deno.test({
  name: "a sharded index that names a device, a FIFO or a file outside is refused before reading",
  ...PYTHON_TESTS,
  async fn() {
    // Index every tensor into one shard: the file the case puts at that name.
    const shard = (make: (dir: string, name: string) => Promise<void>): Edit => async (dir) => {
      const { tensors } = await readSafetensors(join(dir, "model.safetensors"));
      await Deno.remove(join(dir, "model.safetensors"));
      const weightMap = Object.fromEntries([...tensors.keys()].map((k) => [k, "shard.bin"]));
      await Deno.writeTextFile(
        join(dir, "model.safetensors.index.json"),
        JSON.stringify({ metadata: {}, weight_map: weightMap }),
      );
      await make(dir, join(dir, "shard.bin"));
    };
    const index = (weightMap: Record<string, string>): Edit => async (dir) => {
      await Deno.remove(join(dir, "model.safetensors"));
      await Deno.writeTextFile(
        join(dir, "model.safetensors.index.json"),
        JSON.stringify({ weight_map: weightMap }),
      );
    };
    for (const base of [await tinyJanus(), await tinyLumina()]) {
      await refused(base, [
        [
          "dev-zero",
          shard((_, at) => Deno.symlink("/dev/zero", at)),
          /shard\.bin leads out of/,
        ],
        ["absolute", index({ w: "/dev/zero" }), /names '\/dev\/zero', not a file name in/],
        ["outside", index({ w: "../outside.safetensors" }), /not a file name in/],
        [
          "fifo",
          shard(async (_, at) => {
            const made = await new Deno.Command("mkfifo", { args: [at] }).output();
            assert.ok(made.success, "mkfifo");
          }),
          /shard\.bin is not a regular file/,
        ],
      ]);
    }
  },
});

Deno.test({
  name: "an Emu3 image_area beyond the grid cap fails in one line, before the model is built",
  ...PYTHON_TESTS,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "zipar-hostile-" });
    try {
      const dir = join(root, "emu3");
      await copyTree(await tinyEmu3(), dir);
      const processor = join(dir, "processor_config.json");
      const json = JSON.parse(await Deno.readTextFile(processor));
      json.image_area = 32768 * 32768; // a 4096x4096 grid
      await Deno.writeTextFile(processor, JSON.stringify(json));
      await assert.rejects(
        openEmu3(dir),
        oneLine(/a 4096x4096 grid is more than 256 tokens a side; ask for a smaller image/),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a chat template that loops, multiplies, nests without end or is huge fails in one line",
  ...PYTHON_TESTS,
  async fn() {
    const template = (text: string): Edit => (dir) =>
      Deno.writeTextFile(join(dir, "chat_template.jinja"), text);
    await refused(await tinyJanus(), [
      [
        "range",
        template("{% for i in range(10**9) %}x{% endfor %}"),
        /the chat template asks for a range of 1000000000 items, more than 10000/,
      ],
      [
        "multiply",
        template("{{ 'x' * 10000000000 }}"),
        /the chat template multiplies a sequence of 1 by 10000000000/,
      ],
      [
        "forever",
        template(
          "{% for i in range(9999) %}{% for j in range(9999) %}{% for k in range(9999) %}" +
            "{% endfor %}{% endfor %}{% endfor %}",
        ),
        /the chat template took more than 5 s to render/,
      ],
      [
        "output",
        template("{% for i in range(9999) %}{{ 'y' * 9999 }}{% endfor %}"),
        /the chat template renders more than 1048576 characters/,
      ],
      [
        "huge-file",
        template("x".repeat(40 << 20)),
        /chat_template\.jinja: 41943040 bytes, more than a chat template's/,
      ],
      ["broken", template("{% for %}"), /the chat template cannot render \(TemplateSyntaxError/],
    ]);
  },
});

Deno.test({
  name: "a tokenizer config that asks for remote code never runs it and never waits for a key",
  ...PYTHON_TESTS,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "zipar-hostile-" });
    try {
      const dir = join(root, "janus");
      await copyTree(await tinyJanus(), dir);
      const file = join(dir, "tokenizer_config.json");
      const json = JSON.parse(await Deno.readTextFile(file));
      json.auto_map = { AutoTokenizer: ["tokenization_evil.EvilTokenizer", null] };
      json.tokenizer_class = "EvilTokenizer";
      await Deno.writeTextFile(file, JSON.stringify(json));
      await Deno.writeTextFile(
        join(dir, "tokenization_evil.py"),
        "import os\nopen(os.path.join(os.path.dirname(__file__), 'REMOTE_CODE_RAN'), 'w')\n",
      );
      // The worker's stdin is the protocol pipe: a "[y/N]" question would hang it. It refuses
      // in one line instead, and runs nothing.
      await assert.rejects(
        (await checker()).inspectCheckpoint(dir),
        oneLine(/ask to run the directory's own Python code .*which zipar never runs/),
      );
      await assert.rejects(Deno.lstat(join(dir, "REMOTE_CODE_RAN")), Deno.errors.NotFound);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "token ids beyond a model's embedding are one line naming the token and the vocabulary",
  ...PYTHON_TESTS,
  async fn() {
    // A vocabulary map that sends an image token past the embedding rows.
    await refused(await tinyEmu3(), [[
      "emu3-visual",
      config("vocabulary_map.<|visual token 000003|>", 99999),
      /<\|visual token 000003\|> is token id 99999, beyond the model's vocabulary of 535/,
    ]]);
    await refused(await tinyLumina(), [[
      "lumina-image",
      async (dir) => {
        const file = join(dir, "config.json");
        const json = JSON.parse(await Deno.readTextFile(file));
        const name = Object.keys(json.vocabulary_map).find((k) => k.startsWith("IMGIMG"))!;
        json.vocabulary_map[name] = 99999;
        await Deno.writeTextFile(file, JSON.stringify(json));
      },
      /image code \d+ is token id 99999, beyond the model's vocabulary of \d+/,
    ]]);
    // A tokenizer with a token past the embedding: a prompt that uses it is refused at open.
    const root = await Deno.makeTempDir({ prefix: "zipar-hostile-" });
    try {
      const dir = join(root, "janus");
      await copyTree(await tinyJanus(), dir);
      const file = join(dir, "tokenizer.json");
      const json = JSON.parse(await Deno.readTextFile(file));
      json.added_tokens.push({
        id: 9999,
        content: "<zz>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      });
      json.model.vocab["<zz>"] = 9999;
      await Deno.writeTextFile(file, JSON.stringify(json));
      const backend = await openJanus(dir);
      try {
        await assert.rejects(
          backend.open([{ condition: { prompt: "a <zz> fox" }, unconditional: false }]),
          oneLine(/the prompt's token id 9999 is beyond the model's vocabulary of 264/),
        );
        const ok = await backend.open([{ condition: { prompt: "a fox" }, unconditional: false }]);
        await ok.close(); // still serving
      } finally {
        await backend.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
