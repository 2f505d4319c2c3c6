/**
 * The one backend interface. The contract itself lives in core/step.ts so the pure engine can
 * name it; this module is where backend authors import it from.
 *
 * A backend loads a model and reports its {@linkcode ModelInfo}; `open(conditions)` gives a
 * {@linkcode Session} whose `step(queries)` returns logits [queries with wantLogits, vocab] and,
 * when the backend can sample on its device, `runPlan(run)` returns grids [B, H, W]. The
 * sentinels of `Query.token` and `EncodedPlan.input` are named in core/step; core/cfg builds a
 * step's queries over the CFG halves (image i → sequences i and B + i) and mixes their logits.
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
export {
  PLAN_INPUT_CONDITION,
  PLAN_INPUT_EOL,
  PLAN_PREDICTS_NONE,
  QUERY_TOKEN_CONDITION,
} from "../core/step.ts";
export { cfgQueries, guidedLogits, type ImageWrite } from "../core/cfg.ts";
