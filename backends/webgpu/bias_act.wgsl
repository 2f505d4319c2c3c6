// y[i, j] = act(y[i, j] + bias[j]) in place over a step's rows (or its logit rows): the bias of a
// linear layer (the matmul kernels have none), then GELU (exact, erf form) when GELU is set.
// Constants: N (columns = row stride), GELU, LOGIT_ROWS (rows = params.logits, not params.m).
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // y: [rows, N]
@group(0) @binding(2) var<storage, read> bias: array<f32>;    // bias: [N]

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), odd-extended.
fn erf(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-a * a));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let i = gid.y;
  let rows = select(params.m, params.logits, LOGIT_ROWS);
  if (j >= N || i >= rows) { return; }
  let k = i * N + j;
  let v = y[k] + bias[j];
  if (GELU) { y[k] = 0.5 * v * (1.0 + erf(v * 0.70710678118654752)); } else { y[k] = v; }
}
