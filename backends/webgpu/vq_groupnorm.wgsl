// GroupNorm (biased variance, two passes) of one image, one workgroup per group, affine, then
// swish x·sigmoid(x) when SWISH. Constants: EPS, SWISH; shapes in `shape`: C, HW, G.
struct Shape { c: u32, hw: u32, g: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // x: [C, HW]
@group(0) @binding(2) var<storage, read> gamma: array<f32>;    // gamma: [C]
@group(0) @binding(3) var<storage, read> beta: array<f32>;     // beta: [C]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // y: [C, HW]

var<workgroup> red: array<f32, 256>;

fn total(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let HW = shape.hw;
  let PER = (shape.c / shape.g) * HW; // elements per group
  let base = wid.x * PER;
  let t = lid.x;
  var s = 0.0;
  for (var i = t; i < PER; i += 256u) { s += x[base + i]; }
  let mean = total(t, s) / f32(PER);
  var v = 0.0;
  for (var i = t; i < PER; i += 256u) {
    let d = x[base + i] - mean;
    v += d * d;
  }
  let inv = inverseSqrt(total(t, v) / f32(PER) + EPS);
  for (var i = t; i < PER; i += 256u) {
    let ch = (base + i) / HW;
    var o = (x[base + i] - mean) * inv * gamma[ch] + beta[ch];
    if (SWISH) { o = o / (1.0 + exp(-o)); }
    y[base + i] = o;
  }
}
