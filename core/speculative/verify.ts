/**
 * Speculative-sampling verification of a drafted token (the adaptive window's acceptance rule).
 *
 * A draft x drawn from p_old is accepted with probability min(1, p_new(x) / p_old(x)); on
 * rejection a token is drawn from the residual norm(max(0, p_new − p_old)). The result is then
 * distributed exactly as p_new. Randomness is keyed (core/random), never consumed from a stream.
 *
 * @module
 */

import { checkInt } from "../check.ts";
import { gumbel, subKey, uniform } from "../random.ts";

/** The outcome of {@linkcode verifyDraft}. */
export interface Verdict {
  /** Whether the draft was accepted. */
  accepted: boolean;
  /** The draft when accepted, else the token drawn from the residual. */
  token: number;
}

/**
 * Verify `draft` (drawn from `pOld`) against `pNew` with the draw key `key`: accept when
 * `uniform(key, 0) · p_old(x) < p_new(x)`; otherwise return the lowest-index argmax over v with
 * r(v) = max(0, p_new(v) − p_old(v)) > 0 of `log r(v) + gumbel(subKey(key, 1), v)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyDraft } from "./verify.ts";
 * const same = new Float64Array([0.25, 0.75]);
 * assert.deepEqual(verifyDraft(0, same, same, 42), { accepted: true, token: 0 });
 * const never = verifyDraft(0, new Float64Array([1, 0]), new Float64Array([0, 1]), 42);
 * assert.deepEqual(never, { accepted: false, token: 1 });
 * ```
 */
export function verifyDraft(
  draft: number,
  pOld: Float64Array,
  pNew: Float64Array,
  key: number,
): Verdict {
  if (pOld.length !== pNew.length) {
    throw new TypeError(`Distributions differ in length: ${pOld.length} and ${pNew.length}`);
  }
  checkInt("draft token", draft, 0, pOld.length - 1);
  if (uniform(key, 0) * pOld[draft] < pNew[draft]) return { accepted: true, token: draft };
  const residualKey = subKey(key, 1);
  let best = -1, bestScore = -Infinity;
  for (let v = 0; v < pNew.length; v++) {
    const r = pNew[v] - pOld[v];
    if (!(r > 0)) continue;
    const score = Math.log(r) + gumbel(residualKey, v);
    if (score > bestScore) {
      bestScore = score;
      best = v;
    }
  }
  if (best < 0) {
    // p_new ≤ p_old everywhere means p_new = p_old, where rejection cannot happen; guard anyway.
    best = 0;
    for (let v = 1; v < pNew.length; v++) if (pNew[v] > pNew[best]) best = v;
  }
  return { accepted: false, token: best };
}
