// Codebook lookup with L2 normalisation (F.normalize, eps 1e-12) of one image's tokens,
// written channel-major. Shapes in `shape`: HW, DIM.
struct Shape { hw: u32, dim: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;      // tokens: [HW]
@group(0) @binding(2) var<storage, read> codebook: array<f32>;    // codebook: [size, DIM]
@group(0) @binding(3) var<storage, read_write> z: array<f32>;     // z: [DIM, HW]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let HW = shape.hw;
  let DIM = shape.dim;
  let p = gid.x;
  if (p >= HW) { return; }
  let row = u32(tokens[p]) * DIM;
  var ss = 0.0;
  for (var d = 0u; d < DIM; d++) { ss += codebook[row + d] * codebook[row + d]; }
  let inv = 1.0 / max(sqrt(ss), 1e-12);
  for (var d = 0u; d < DIM; d++) { z[d * HW + p] = codebook[row + d] * inv; }
}
