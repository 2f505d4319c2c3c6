/**
 * The documentation holds together: README.md stays a page a newcomer reads in five minutes (at
 * most 250 lines), every relative link in README.md and docs/*.md reaches a file of the repository
 * (and a heading of it, when the link names one), and every document the code cites by name is
 * in the repository.
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** The most lines README.md may have (issue 27: the llama.cpp pattern, the rest in docs/). */
export const README_MAX_LINES = 250;

/** `text` without fenced code blocks and inline code spans, line numbers kept. */
export function proseOf(text: string): string {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line.replace(/`[^`]*`/g, "``");
  }).join("\n");
}

/** A relative link of a Markdown file: its target and the line it is on. */
export interface Link {
  target: string;
  line: number;
}

/** The links of Markdown `text` that point into the repository (not URLs, not `#anchor` alone). */
export function relativeLinks(text: string): Link[] {
  const links: Link[] = [];
  proseOf(text).split("\n").forEach((line, i) => {
    const targets = [
      ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...line.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((m) => m[1]),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
      links.push({ target, line: i + 1 });
    }
  });
  return links;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (a repeated heading gets `-1`, `-2`, …). */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseOf(text).split("\n")) {
    const m = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!m) continue;
    const slug = slugOf(m[1]);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** README.md and every Markdown file under docs/, as paths from the repository root. */
function documents(): string[] {
  const found = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(join(ROOT, dir))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".md")) found.push(path);
    }
  };
  walk("docs");
  return found.sort();
}

/** What is wrong with the links of the Markdown file `file` (a path from `root`). */
export function brokenLinks(file: string, root = ROOT): string[] {
  const broken: string[] = [];
  for (const { target, line } of relativeLinks(Deno.readTextFileSync(join(root, file)))) {
    const [pathPart, anchor] = target.split("#", 2);
    const path = join(root, dirname(file), decodeURIComponent(pathPart));
    const where = `${file}:${line}: ${target}`;
    if (!exists(path)) broken.push(`${where} (no such file)`);
    else if (
      anchor && path.endsWith(".md") && !anchorsOf(Deno.readTextFileSync(path)).has(anchor)
    ) {
      broken.push(`${where} (no heading #${anchor} in ${relative(root, path)})`);
    }
  }
  return broken;
}

Deno.test("README.md is at most 250 lines: the rest lives in docs/", () => {
  const lines = Deno.readTextFileSync(join(ROOT, "README.md")).split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.ok(
    lines.length <= README_MAX_LINES,
    `README.md has ${lines.length} lines; move detail into docs/ (at most ${README_MAX_LINES})`,
  );
});

Deno.test("README.md gives CI its test command (.ci/run reads the first one)", () => {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const command = readme.split("\n").find((l) => /^(npx -y deno@[0-9.]+ |deno )task test/.test(l));
  assert.ok(command, "README.md needs a line starting `npx -y deno@X task test`");
  assert.match(command.replace(/ *#.*$/, ""), /^npx -y deno@[0-9.]+ task test$/);
});

Deno.test("every relative link in README.md and docs/*.md reaches a file and heading", () => {
  const files = documents();
  assert.ok(files.includes("docs/design.md"), "docs/design.md, the method and step contract");
  assert.deepEqual(files.flatMap((file) => brokenLinks(file)), []);
});

Deno.test("brokenLinks() finds a missing file and a missing heading", () => {
  const root = Deno.makeTempDirSync();
  try {
    const name = "docs";
    Deno.mkdirSync(join(root, name));
    Deno.writeTextFileSync(join(root, name, "a.md"), "# A page\n\n## Some: heading\n");
    Deno.writeTextFileSync(
      join(root, name, "b.md"),
      [
        "[ok](a.md) [ok](a.md#some-heading) [web](https://example.com) [self](#x)",
        "[gone](nowhere.md) [bad anchor](a.md#nope)",
        "`[code](missing.md)`",
        "```",
        "[fenced](missing.md)",
        "```",
      ].join("\n"),
    );
    assert.deepEqual(brokenLinks(`${name}/b.md`, root), [
      `${name}/b.md:2: nowhere.md (no such file)`,
      `${name}/b.md:2: a.md#nope (no heading #nope in ${name}/a.md)`,
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("slugOf() gives GitHub's anchors", () => {
  assert.equal(slugOf("generate: token grids"), "generate-token-grids");
  assert.equal(slugOf("Choosing a window: `zipar eval`"), "choosing-a-window-zipar-eval");
  assert.equal(slugOf("CUDA path (worker, torch 2.x)"), "cuda-path-worker-torch-2x");
  assert.equal(slugOf("ZipAR × SJD"), "zipar--sjd");
});

/** Source files whose comments may cite documents, as paths from the root. */
function sources(dir = ""): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...sources(path));
    else if (/\.(ts|py|sh|wgsl|md|yaml)$/.test(entry.name)) found.push(path);
  }
  return found;
}

/**
 * Names that look like documents but are not citations: REPORT.md is the report file an example
 * command line of tools/gpu_check writes.
 */
const NOT_CITATIONS = new Set(["REPORT.md"]);

/** The documents `text` cites that the repository lacks: `docs/NAME.md`, and `NAME.md` in capitals. */
export function missingCitations(text: string, has: (path: string) => boolean): string[] {
  const missing = new Set<string>();
  for (const m of text.matchAll(/(?<![\w./-])docs\/[\w-]+\.md\b/g)) {
    if (!has(m[0])) missing.add(m[0]);
  }
  for (const m of text.matchAll(/(?<![\w./-])(?:[\w-]+\/)*[A-Z][A-Z0-9_]*\.md\b/g)) {
    if (!NOT_CITATIONS.has(m[0]) && !has(m[0])) missing.add(m[0]);
  }
  return [...missing];
}

Deno.test("every document the code and docs cite by name is in the repository", () => {
  const self = relative(ROOT, new URL(import.meta.url).pathname); // its examples cite nothing
  const files = sources().filter((file) => file !== self);
  const names = new Set(files.map((f) => f.split("/").at(-1)!));
  // `docs/x.md` must be that path; a capitalised name (PROTOCOL.md) may sit in any folder.
  const has = (cited: string) =>
    cited.startsWith("docs/")
      ? exists(join(ROOT, cited))
      : exists(join(ROOT, cited)) || names.has(cited.split("/").at(-1)!);
  const missing = files.flatMap((file) =>
    missingCitations(Deno.readTextFileSync(join(ROOT, file)), has).map((m) => `${file}: ${m}`)
  );
  assert.deepEqual(missing, []);
});

Deno.test("missingCitations() finds design notes that are not in the repository", () => {
  const has = (p: string) => p === "docs/design.md" || p === "PROTOCOL.md";
  assert.deepEqual(
    missingCitations("see DESIGN.md §2, docs/design.md §3, shared/LLAMAGEN.md, PROTOCOL.md", has),
    ["DESIGN.md", "shared/LLAMAGEN.md"],
  );
  assert.deepEqual(missingCitations("docs/t2i.md; transformers' docs/source/en/x.md", has), [
    "docs/t2i.md",
  ]);
});
