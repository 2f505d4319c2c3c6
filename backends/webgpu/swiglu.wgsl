// SwiGLU gate in place: a = silu(a) · b. Constants: HIDDEN.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>; // a: [M, HIDDEN] (w1 output)
@group(0) @binding(2) var<storage, read> b: array<f32>;       // b: [M, HIDDEN] (w3 output)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  let i = gid.y;
  if (e >= HIDDEN || i >= params.m) { return; }
  let k = i * HIDDEN + e;
  let v = a[k];
  a[k] = v / (1.0 + exp(-v)) * b[k];
}
