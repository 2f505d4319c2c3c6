// Shared declarations, prepended to every kernel after its shape constants.

// Per-step parameters (copied into place before each step of a plan).
struct Params {
  m: u32,        // queries in this step
  qStart: u32,   // first query of this step in `queries`
  jobs: u32,     // sampling jobs in this step
  jobStart: u32, // first job of this step in `jobs`
  images: u32,   // images B: sequence s belongs to image s % B
  logits: u32,   // logit rows in this step
  pad0: u32,
  pad1: u32,
}

// One query: write `token` (or the grid cell `cell` of the sequence's image, when ≥ 0) at
// `slot` of sequence `seq`; its logits go to row `logitRow` (−1: none). token −1 = condition.
struct Query {
  seq: i32,
  slot: i32,
  token: i32,
  cell: i32,
  logitRow: i32,
}
