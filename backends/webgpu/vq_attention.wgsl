// Single-head attention of one image over all N = H·W positions, channel-major tensors, one
// workgroup per query position: out[:, i] = Σ_j softmax_j(q[:, i]·k[:, j] · SCALE) v[:, j].
// Constants: C, N, SCALE (1/√C).
@group(0) @binding(0) var<storage, read> q: array<f32>;          // q: [C, N]
@group(0) @binding(1) var<storage, read> k: array<f32>;          // k: [C, N]
@group(0) @binding(2) var<storage, read> v: array<f32>;          // v: [C, N]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // out: [C, N]

var<workgroup> qi: array<f32, C>;
var<workgroup> p: array<f32, N>;
var<workgroup> red: array<f32, 64>;

fn reduce(t: u32, x: f32, isMax: bool) -> f32 {
  red[t] = x;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = select(red[t] + red[t + s], max(red[t], red[t + s]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.x + wid.y * 65535u;
  if (i >= N) { return; } // uniform per workgroup
  let t = lid.x;
  for (var c = t; c < C; c += 64u) { qi[c] = q[c * N + i]; }
  workgroupBarrier();
  var mx = -3.0e38;
  for (var j = t; j < N; j += 64u) {
    var d = 0.0;
    for (var c = 0u; c < C; c++) { d += qi[c] * k[c * N + j]; }
    p[j] = d * SCALE;
    mx = max(mx, p[j]);
  }
  let m = reduce(t, mx, true);
  var sum = 0.0;
  for (var j = t; j < N; j += 64u) {
    let e = exp(p[j] - m);
    p[j] = e;
    sum += e;
  }
  let inv = 1.0 / reduce(t, sum, false); // the barriers inside also publish p
  for (var c = t; c < C; c += 64u) {
    var acc = 0.0;
    for (var j = 0u; j < N; j++) { acc += p[j] * v[c * N + j]; }
    out[c * N + i] = acc * inv;
  }
}
