/**
 * Scoring generated images the way `zipar eval` does: decode the grids, run the demo's
 * Fashion-MNIST classifier, and report class accuracy and the Fréchet distance of its features
 * to the reference statistics of real images.
 *
 * @module
 */

import type { ImageDecoder } from "../../backends/open.ts";
import { FEATURES, type FmnistClassifier } from "./fmnist_classifier.ts";
import { fitGaussian, frechetDistance, type Gaussian } from "./frechet.ts";

/** What scoring needs: the classifier, the model's image decoder and the reference. */
export interface Scorer {
  /** The Fashion-MNIST classifier (28×28 gray in, 10 logits and 64 features out). */
  classifier: FmnistClassifier;
  /** The model's image decoder. */
  decoder: ImageDecoder;
  /** Feature statistics of real images. */
  reference: Gaussian;
}

/** Class accuracy (0..1) and Fréchet distance of one batch of grids. */
export interface Score {
  /** Share of images the classifier assigns to their class. */
  accuracy: number;
  /** Fréchet distance of the features to the reference. */
  fd: number;
}

/** Decode grids [B, H, W] and score them against their class `labels`. */
export async function scoreGrids(
  scorer: Scorer,
  grids: Int32Array,
  shape: [number, number, number],
  labels: readonly number[],
): Promise<Score> {
  const images = await scorer.decoder.decode(grids, shape);
  if (images.height !== 28 || images.width !== 28 || images.channels !== 1) {
    throw new Error(
      `the classifier takes 28×28 gray images, the decoder gives ${images.height}×${images.width}×${images.channels}`,
    );
  }
  const { features, logits } = scorer.classifier.run(images.pixels, images.count);
  let correct = 0;
  for (let i = 0; i < images.count; i++) {
    let best = 0; // logits: [images, 10]
    for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
    if (best === labels[i]) correct++;
  }
  return {
    accuracy: correct / images.count,
    fd: frechetDistance(fitGaussian(features, FEATURES), scorer.reference),
  };
}
