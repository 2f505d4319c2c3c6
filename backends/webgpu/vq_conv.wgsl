// Conv2d with bias, stride 1, zero padding KS/2, for one chunk of output channels:
// y[CO0 + co, p] = bias[CO0 + co] + Σ_{ci, ky, kx} x[ci, p + (ky, kx) − KS/2] · w[ci, ky, kx, co]
// (+ r[CO0 + co, p] when RES). With UP the input is [CIN, H/2, W/2] read nearest-upsampled
// (fused ×2 upsample). Each invocation computes 8 output channels × 4 pixels of a row.
// Constants (control flow only, so few pipeline variants): KS, UP, RES. Shapes come in `shape`:
// CIN, COUT (chunk width), COUTP (COUT padded to 8), CO0, H, W (output).
struct Shape { cin: u32, cout: u32, coutp: u32, co0: u32, h: u32, w: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // x: [CIN, H, W] or [CIN, H/2, W/2]
@group(0) @binding(2) var<storage, read> w: array<vec4f>;      // w: [CIN, KS, KS, COUTP]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // bias: [all output channels]
@group(0) @binding(4) var<storage, read> r: array<f32>;        // r: [all output channels, H, W]
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // y: [all output channels, H, W]

const PAD: i32 = i32(KS / 2u);

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let CIN = shape.cin;
  let COUT = shape.cout;
  let COUTP = shape.coutp;
  let CO0 = shape.co0;
  let H = shape.h;
  let W = shape.w;
  let WB = (W + 3u) / 4u; // pixel blocks per row
  let XH = select(H, H / 2u, UP);
  let XW = select(W, W / 2u, UP);
  let pb = gid.x;
  if (pb >= H * WB) { return; }
  let oy = pb / WB;
  let ox = (pb % WB) * 4u;
  let co0 = gid.y * 8u;
  var lo: array<vec4f, 4>; // channels co0..co0+3 of pixels ox..ox+3
  var hi: array<vec4f, 4>; // channels co0+4..co0+7
  for (var ci = 0u; ci < CIN; ci++) {
    let xb = ci * XH * XW;
    for (var ky = 0u; ky < KS; ky++) {
      let iy = i32(oy + ky) - PAD;
      if (iy < 0 || iy >= i32(H)) { continue; }
      let row = xb + select(u32(iy), u32(iy) / 2u, UP) * XW;
      var xv: array<f32, 6>; // input pixels ox − PAD .. ox + 3 + PAD
      for (var j = 0u; j < 3u + KS; j++) {
        let ix = i32(ox + j) - PAD;
        var v = 0.0;
        if (ix >= 0 && ix < i32(W)) { v = x[row + select(u32(ix), u32(ix) / 2u, UP)]; }
        xv[j] = v;
      }
      for (var kx = 0u; kx < KS; kx++) {
        let wb = (((ci * KS + ky) * KS + kx) * COUTP + co0) / 4u;
        let w0 = w[wb];
        let w1 = w[wb + 1u];
        for (var j = 0u; j < 4u; j++) {
          lo[j] += xv[j + kx] * w0;
          hi[j] += xv[j + kx] * w1;
        }
      }
    }
  }
  for (var c = 0u; c < 8u; c++) {
    if (co0 + c >= COUT) { break; }
    let ch = CO0 + co0 + c;
    for (var j = 0u; j < 4u; j++) {
      if (ox + j >= W) { break; }
      let i = ch * H * W + oy * W + ox + j;
      var v = select(hi[j][c - 4u], lo[j][c], c < 4u) + bias[ch];
      if (RES) { v += r[i]; }
      y[i] = v;
    }
  }
}
