// Decoder output [3, P] in [−1, 1] → RGB bytes [P, 3], packed 4 bytes per u32 (little
// endian): byte = floor(clamp((v + 1)/2, 0, 1)·255 + 0.5), or without the 0.5 unless NEAREST
// (Janus truncates). Shapes in `shape`: P (pixels), WORDS.
struct Shape { p: u32, words: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> rgb: array<f32>;         // rgb: [3, P]
@group(0) @binding(2) var<storage, read_write> pix: array<u32>;   // pix: [WORDS] = ⌈3P/4⌉

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let P = shape.p;
  let WORDS = shape.words;
  let wi = gid.x + gid.y * 65535u * 64u;
  if (wi >= WORDS) { return; }
  var word = 0u;
  for (var b = 0u; b < 4u; b++) {
    let at = wi * 4u + b;
    if (at >= 3u * P) { break; }
    let v = rgb[(at % 3u) * P + at / 3u];
    let byte = u32(floor(clamp((v + 1.0) * 0.5, 0.0, 1.0) * 255.0 + select(0.0, 0.5, NEAREST)));
    word |= min(byte, 255u) << (8u * b);
  }
  pix[wi] = word;
}
