// y[m, COL0 + n] (+)= Σ_k x[m, k] · w[n, k] for one weight chunk w: [N, K].
// Register-blocked: each invocation computes R rows × 8 columns, reading x and w as vec4.
// w is stored as WeightVec4 (vec4f, or vec4<f16> in matmulF16: the kernel table declares it)
// and widened to vec4f as it is read; the math and y are f32.
// Constants: K4 (= K / 4), N, LDY (row stride of y), COL0, R, ACCUM, LOGIT_ROWS (rows =
// params.logits instead of params.m).
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;      // x: [M, K]
@group(0) @binding(2) var<storage, read> w: array<WeightVec4>; // w: [N, K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // y: [M, LDY]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m = select(params.m, params.logits, LOGIT_ROWS);
  let n0 = gid.x * 8u;
  let m0 = gid.y * R;
  if (n0 >= N || m0 >= m) { return; }
  var xr: array<u32, R>;
  for (var r = 0u; r < R; r++) { xr[r] = min(m0 + r, m - 1u) * K4; }
  var wc: array<u32, 8>;
  for (var c = 0u; c < 8u; c++) { wc[c] = min(n0 + c, N - 1u) * K4; }
  var lo: array<vec4f, R>; // columns 0..3 of each row
  var hi: array<vec4f, R>; // columns 4..7
  for (var k = 0u; k < K4; k++) {
    let w0 = vec4f(w[wc[0] + k]);
    let w1 = vec4f(w[wc[1] + k]);
    let w2 = vec4f(w[wc[2] + k]);
    let w3 = vec4f(w[wc[3] + k]);
    let w4 = vec4f(w[wc[4] + k]);
    let w5 = vec4f(w[wc[5] + k]);
    let w6 = vec4f(w[wc[6] + k]);
    let w7 = vec4f(w[wc[7] + k]);
    for (var r = 0u; r < R; r++) {
      let xv = x[xr[r] + k];
      lo[r] += vec4f(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
      hi[r] += vec4f(dot(xv, w4), dot(xv, w5), dot(xv, w6), dot(xv, w7));
    }
  }
  for (var r = 0u; r < R; r++) {
    if (m0 + r >= m) { break; }
    let base = (m0 + r) * LDY + COL0 + n0;
    for (var c = 0u; c < 8u; c++) {
      if (n0 + c >= N) { break; }
      let v = select(hi[r][c - 4u], lo[r][c], c < 4u);
      if (ACCUM) { y[base + c] += v; } else { y[base + c] = v; }
    }
  }
}
