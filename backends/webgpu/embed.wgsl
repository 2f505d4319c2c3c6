// Embedding gather for one chunk of tok_embeddings rows [ROW0, ROW0 + ROWS); the chunk with
// HAS_CLS also writes the class embedding of condition slots. Constants: DIM, ROW0, ROWS, HW,
// HAS_CLS.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<Query>;
@group(0) @binding(2) var<storage, read> grid: array<i32>;   // grid: [images, H·W]
@group(0) @binding(3) var<storage, read> conds: array<i32>;  // conds: [seqs]
@group(0) @binding(4) var<storage, read> tok: array<f32>;    // tok: [ROWS, DIM]
@group(0) @binding(5) var<storage, read> cls: array<f32>;    // cls: [numClasses + 1, DIM]
@group(0) @binding(6) var<storage, read_write> x: array<f32>; // x: [M, DIM]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  let i = gid.y;
  if (e >= DIM || i >= params.m) { return; }
  let q = queries[params.qStart + i];
  var token = q.token;
  if (q.cell >= 0) { token = grid[(u32(q.seq) % params.images) * HW + u32(q.cell)]; }
  if (token == -1) {
    if (HAS_CLS) { x[i * DIM + e] = cls[u32(conds[q.seq]) * DIM + e]; }
  } else if (token >= ROW0 && token < ROW0 + ROWS) {
    x[i * DIM + e] = tok[u32(token - ROW0) * DIM + e];
  }
}
