/**
 * What a model path holds, read by the Python worker without loading the model
 * (worker/describe.py): family and layout, grid and EOL, vocabularies, weights, tokenizer and
 * image decoder, and for each missing piece which file to add and where. `zipar inspect --model`
 * prints it; `zipar plan --model` counts its grid.
 *
 * @module
 */

import { HANDSHAKE_TIMEOUT_MS, type WorkerOptions, WorkerProcess } from "./worker_process.ts";

/** A piece of a model directory (its tokenizer or image decoder): found, or how to add it. */
export interface DescribedPart {
  /** Whether it is there. */
  found: boolean;
  /** Where it was found (a file or directory), when found. */
  where?: string | null;
  /** The tokenizer's files, when that is the part. */
  files?: string[];
  /** Which file to add and where, when missing. */
  fix?: string;
}

/** What `describe` answers (PROTOCOL.md). */
export interface ModelDescription {
  /** The path described. */
  path: string;
  /** llamagen | janus | emu3 | lumina. */
  family: string;
  /** "official" (the publisher's download), "transformers" (a converted copy), "zipar", "official .pt". */
  layout: string;
  /** Where this layout is downloaded. */
  download: string;
  /** config.json's model_type, or null. */
  modelType: string | null;
  /** Conditioning slots before the image. */
  prefix: number;
  /** The token grid [H, W] it generates (the size asked for, else its own). */
  grid: [number, number];
  /** Whether its rows end with an end-of-line token. */
  eol: boolean;
  /** Image tokens (the codebook), or null when the files do not say. */
  vocab: number | null;
  /** Text vocabulary, or null. */
  textVocab: number | null;
  /** Transformer layers and width, context (null when not a config field). */
  layers: number | null;
  hidden: number | null;
  context: number | null;
  /** The weight files: how many, their bytes, parameters and the dtype most have. */
  weights: { files: number; bytes: number; parameters: number; dtype: string | null };
  /** The tokenizer files (null for a class-conditional model). */
  tokenizer: DescribedPart | null;
  /** The image decoder. */
  decoder: DescribedPart;
}

/** What to describe: the path and the size asked of it. */
export interface DescribeRequest {
  /** The model path. */
  model: string;
  /** The grid of a model that makes several, e.g. "32x32". */
  grid?: string;
  /** The image size in px of a model that makes several. */
  size?: number;
  /** BAAI/Emu3-VisionTokenizer's directory (official Emu3-Gen). */
  visionTokenizer?: string;
  /** FLAN-T5's directory (a LlamaGen text-to-image .pt). */
  textEncoder?: string;
  /** Attention heads of a .pt of no preset (LlamaGen). */
  heads?: number;
}

/** A worker that describes model paths, one after another, until closed. */
export interface Describer {
  /** What `request.model` holds; a path zipar cannot read is a one-line Error. */
  describe(request: DescribeRequest): Promise<ModelDescription>;
  /** End the worker. */
  close(): Promise<void>;
}

/** Start a worker that only describes model paths (a hello of `describe: true`). */
export async function openDescriber(options: WorkerOptions = {}): Promise<Describer> {
  const { process } = await WorkerProcess.start(options, { describe: true });
  const timeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  return {
    async describe(request) {
      const header = {
        type: "describe",
        model: request.model,
        grid: request.grid ?? null,
        size: request.size ?? null,
        visionTokenizer: request.visionTokenizer ?? null,
        textEncoder: request.textEncoder ?? null,
        heads: request.heads ?? null,
      };
      const answer = await process.request(header, {}, { timeoutMs });
      return answer.header.description as ModelDescription;
    },
    close: () => process.close(),
  };
}

/** Describe one model path in a worker of its own, started for this and closed after. */
export async function describeModel(
  options: DescribeRequest & WorkerOptions,
): Promise<ModelDescription> {
  const describer = await openDescriber(options);
  try {
    return await describer.describe(options);
  } finally {
    await describer.close();
  }
}
