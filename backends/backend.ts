/**
 * The one backend interface. The contract itself lives in core/step.ts so the pure engine can
 * name it; this module is where backend authors import it from.
 *
 * A backend loads a model and reports its {@linkcode ModelInfo}; `open(conditions)` gives a
 * {@linkcode Session} whose `step(queries)` returns logits [queries with wantLogits, vocab] and,
 * when the backend can sample on its device, `runPlan(run)` returns grids [B, H, W].
 *
 * @module
 */

export type {
  Backend,
  EncodedPlan,
  ModelInfo,
  PlanImage,
  PlanRun,
  Query,
  Session,
} from "../core/step.ts";
export { CONDITION_TOKEN, INPUT_CONDITION, INPUT_EOL } from "../core/step.ts";
