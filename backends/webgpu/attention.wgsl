// Attention of each query (one workgroup per query and head) over the written positions ≤ its
// own (base[seq] + slot) of its sequence's cache; unwritten positions are masked out. Query head
// h reads K/V head h / GROUP (grouped K/V heads, LlamaGen's repeat_interleave; GROUP = 1 without them).
// Constants: DIM, KVDIM (K/V heads · HD), HD, GROUP (heads / K/V heads), SLOTS, SCALE (1/√HD).
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<Query>;
@group(0) @binding(2) var<storage, read> q: array<f32>;        // q: [M, DIM]
@group(0) @binding(3) var<storage, read> kc: array<f32>;       // kc: [seqs, SLOTS, KVDIM]
@group(0) @binding(4) var<storage, read> vc: array<f32>;       // vc: [seqs, SLOTS, KVDIM]
@group(0) @binding(5) var<storage, read> written: array<u32>;  // written: [seqs, SLOTS]
@group(0) @binding(6) var<storage, read_write> out: array<f32>; // out: [M, DIM]
@group(0) @binding(7) var<storage, read> bases: array<i32>;   // bases: [seqs] position of slot 0

var<workgroup> p: array<f32, SLOTS>;
var<workgroup> red: array<f32, 64>;

fn reduce(t: u32, v: f32, isMax: bool) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = select(red[t] + red[t + w], max(red[t], red[t + w]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let h = wid.x;
  let i = wid.y;
  if (i >= params.m) { return; }
  let t = lid.x;
  let query = queries[params.qStart + i];
  let base = u32(query.seq) * SLOTS;
  let slot = u32(bases[query.seq] + query.slot); // the cache position
  let qb = i * DIM + h * HD;
  let kvh = (h / GROUP) * HD; // this head's K/V head
  var mx = -3.0e38;
  for (var s = t; s <= slot; s += 64u) {
    var score = -3.0e38;
    if (written[base + s] != 0u) {
      let kb = (base + s) * KVDIM + kvh;
      var d = 0.0;
      for (var e = 0u; e < HD; e++) { d += q[qb + e] * kc[kb + e]; }
      score = d * SCALE;
    }
    p[s] = score;
    mx = max(mx, score);
  }
  let m = reduce(t, mx, true);
  var sum = 0.0;
  for (var s = t; s <= slot; s += 64u) {
    let e = select(0.0, exp(p[s] - m), written[base + s] != 0u);
    p[s] = e;
    sum += e;
  }
  let total = reduce(t, sum, false);
  for (var e = t; e < HD; e += 64u) {
    var acc = 0.0;
    for (var s = 0u; s <= slot; s++) { acc += p[s] * vc[(base + s) * KVDIM + kvh + e]; }
    out[qb + e] = acc / total;
  }
}
