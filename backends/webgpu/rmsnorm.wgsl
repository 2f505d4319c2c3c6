// RMSNorm of every query row: out = x / sqrt(mean(x²) + EPS) · weight. With COMPACT, row i
// goes to row logitRow of `out` and rows without logits are skipped. Constants: DIM, EPS, COMPACT.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<Query>;
@group(0) @binding(2) var<storage, read> x: array<f32>;       // x: [M, DIM]
@group(0) @binding(3) var<storage, read> weight: array<f32>;  // weight: [DIM]
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // out: [M or L, DIM]

var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.x;
  if (i >= params.m) { return; }
  let t = lid.x;
  var s = 0.0;
  for (var e = t; e < DIM; e += 64u) {
    let v = x[i * DIM + e];
    s += v * v;
  }
  red[t] = s;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] += red[t + w]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(DIM) + EPS);
  var row = i;
  if (COMPACT) {
    let r = queries[params.qStart + i].logitRow;
    if (r < 0) { return; }
    row = u32(r);
  }
  for (var e = t; e < DIM; e += 64u) {
    out[row * DIM + e] = x[i * DIM + e] * inv * weight[e];
  }
}
