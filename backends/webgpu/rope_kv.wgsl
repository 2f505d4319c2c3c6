// RoPE on q and k, then the K/V cache write: every query of a step writes its position here,
// before any query attends. A query's position is base[seq] + slot (LlamaGen: base 0, the 2D
// table has cos = sin = 0 at the prefix, so q = k = 0 there; Janus: base = prompt length − 1,
// the 1D table over positions, prompt rows at negative slots). Pairs are (2j, 2j + 1).
// Constants: DIM, KVDIM (K/V heads · HD; DIM without grouped heads), HD (head dim), SLOTS
// (cache positions per sequence).
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<Query>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;          // qkv: [M, DIM + 2·KVDIM]
@group(0) @binding(3) var<storage, read> rope: array<vec2f>;       // rope: [positions, HD/2] (cos, sin)
@group(0) @binding(4) var<storage, read_write> q: array<f32>;      // q: [M, DIM]
@group(0) @binding(5) var<storage, read_write> kc: array<f32>;     // kc: [seqs, SLOTS, KVDIM]
@group(0) @binding(6) var<storage, read_write> vc: array<f32>;     // vc: [seqs, SLOTS, KVDIM]
@group(0) @binding(7) var<storage, read_write> written: array<u32>; // written: [seqs, SLOTS]
@group(0) @binding(8) var<storage, read> base: array<i32>;         // base: [seqs] position of slot 0

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x; // pair index in [0, DIM/2)
  let i = gid.y;
  if (j >= DIM / 2u || i >= params.m) { return; }
  let query = queries[params.qStart + i];
  let seq = u32(query.seq);
  let slot = u32(base[seq] + query.slot); // the cache position
  let jj = j % (HD / 2u);
  let e = 2u * j;
  let cs = rope[slot * (HD / 2u) + jj];
  let src = i * (DIM + 2u * KVDIM);
  let q0 = qkv[src + e];
  let q1 = qkv[src + e + 1u];
  q[i * DIM + e] = q0 * cs.x - q1 * cs.y;
  q[i * DIM + e + 1u] = q1 * cs.x + q0 * cs.y;
  if (e < KVDIM) {
    let k0 = qkv[src + DIM + e];
    let k1 = qkv[src + DIM + e + 1u];
    let dst = (seq * SLOTS + slot) * KVDIM + e;
    kc[dst] = k0 * cs.x - k1 * cs.y;
    kc[dst + 1u] = k1 * cs.x + k0 * cs.y;
    vc[dst] = qkv[src + DIM + KVDIM + e];
    vc[dst + 1u] = qkv[src + DIM + KVDIM + e + 1u];
  }
  if (j == 0u) { written[seq * SLOTS + slot] = 1u; }
}
