// y[m, COL0 + n] (+)= Σ_k x[m, k] · w[n, k] for one weight chunk w: [N, K], tiled so that a
// pass of up to TM rows reads each weight once: a workgroup owns TM rows × TN columns and walks
// K in slices of TK4 vec4s, loading each slice of w and of x into workgroup memory once and
// applying it to all TM rows. Invocation (cx, ry) of the CT × RT workgroup computes rows
// ry + RT·r (r < 4) × columns cx + CT·c (c < 8): TM = 4·RT, TN = 8·CT.
// Constants: K4 (= K / 4), N, LDY (row stride of y), COL0, CT, RT, TK4, ACCUM, LOGIT_ROWS
// (rows = params.logits instead of params.m). w is stored as WeightVec4 (vec4f, or vec4<f16>
// in matmulTiledF16: the kernel table declares it) and widened to vec4f as a slice is loaded,
// so workgroup memory, the math and y are f32.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;      // x: [M, K]
@group(0) @binding(2) var<storage, read> w: array<WeightVec4>; // w: [N, K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // y: [M, LDY]

const TM: u32 = 4u * RT;
const TN: u32 = 8u * CT;
const LANES: u32 = CT * RT;
const PAD: u32 = TK4 + 1u; // row stride in workgroup memory, in vec4s (odd: fewer bank conflicts)

var<workgroup> ws: array<vec4f, TN * PAD>; // ws: [TN, TK4] slice of w
var<workgroup> xs: array<vec4f, TM * PAD>; // xs: [TM, TK4] slice of x

@compute @workgroup_size(CT, RT)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let m = select(params.m, params.logits, LOGIT_ROWS);
  let n0 = wid.x * TN;
  let m0 = wid.y * TM;
  if (m0 >= m) { return; } // uniform across the workgroup
  var lo: array<vec4f, 4>; // lo[r][c]: row ry + RT·r, column cx + CT·c, c < 4
  var hi: array<vec4f, 4>; // c = 4..7
  for (var k0 = 0u; k0 < K4; k0 += TK4) {
    for (var i = lane; i < TN * TK4; i += LANES) {
      let row = i / TK4;
      let k = i % TK4;
      var v = vec4f(0.0);
      if (n0 + row < N && k0 + k < K4) { v = vec4f(w[(n0 + row) * K4 + k0 + k]); }
      ws[row * PAD + k] = v;
    }
    for (var i = lane; i < TM * TK4; i += LANES) {
      let row = i / TK4;
      let k = i % TK4;
      var v = vec4f(0.0);
      if (m0 + row < m && k0 + k < K4) { v = x[(m0 + row) * K4 + k0 + k]; }
      xs[row * PAD + k] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK4; k++) {
      let w0 = ws[lid.x * PAD + k];
      let w1 = ws[(lid.x + CT) * PAD + k];
      let w2 = ws[(lid.x + 2u * CT) * PAD + k];
      let w3 = ws[(lid.x + 3u * CT) * PAD + k];
      let w4 = ws[(lid.x + 4u * CT) * PAD + k];
      let w5 = ws[(lid.x + 5u * CT) * PAD + k];
      let w6 = ws[(lid.x + 6u * CT) * PAD + k];
      let w7 = ws[(lid.x + 7u * CT) * PAD + k];
      for (var r = 0u; r < 4u; r++) {
        let xv = xs[(lid.y + r * RT) * PAD + k];
        lo[r] += vec4f(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
        hi[r] += vec4f(dot(xv, w4), dot(xv, w5), dot(xv, w6), dot(xv, w7));
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let row = m0 + lid.y + r * RT;
    if (row >= m) { break; }
    for (var c = 0u; c < 8u; c++) {
      let col = n0 + lid.x + c * CT;
      if (col >= N) { break; }
      let v = select(hi[r][c - 4u], lo[r][c], c < 4u);
      let at = row * LDY + COL0 + col;
      if (ACCUM) { y[at] += v; } else { y[at] = v; }
    }
  }
}
