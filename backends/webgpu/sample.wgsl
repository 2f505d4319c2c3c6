// CFG mixing and sampling on the device, exactly core/sampling's definition; one workgroup per
// sampling job (image, cell). The token goes into the device-resident grid. Constants: V, HW, W.
struct Job {
  condRow: u32,   // logits row of the conditional sequence
  uncondRow: u32, // logits row of the unconditional sequence (= condRow without CFG)
  image: u32,
  cell: u32,      // r·W + c
}
struct Sampling {
  cfg: f32,         // guidance scale g; 1 = conditional logits as they are
  temperature: f32, // 0 = greedy
  topK: u32,        // 0 = off
  topP: f32,        // 1 = off
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> sampling: Sampling;
@group(0) @binding(2) var<storage, read> jobs: array<Job>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;         // logits: [L, V]
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;    // mixed: [jobs, V]
@group(0) @binding(5) var<storage, read> images: array<vec2u>;       // images: [B] (seed, index)
@group(0) @binding(6) var<storage, read_write> grid: array<i32>;     // grid: [B, H·W]

const WG = 256u;
var<workgroup> redf: array<f32, WG>;
var<workgroup> redu: array<u32, WG>;

fn fmix32(h0: u32) -> u32 {
  var h = h0;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

fn cellKey(seed: u32, image: u32, row: u32, col: u32) -> u32 {
  var h = fmix32(seed ^ 0x9e3779b9u);
  h = fmix32(h ^ image);
  h = fmix32(h ^ row);
  return fmix32(h ^ col);
}

fn gumbel(key: u32, v: u32) -> f32 {
  let bits = fmix32(key + v * 0x9e3779b9u);
  // (2·(bits >> 9) + 1) / 2²⁴: exact in f32, never 0 or 1 (core/random.ts).
  let u = f32(2u * (bits >> 9u) + 1u) / 16777216.0;
  return -log(-log(u));
}

// Order-preserving map of f32 onto u32; −0 maps with +0 (they compare equal on the host).
fn orderKey(f: f32) -> u32 {
  let b = select(bitcast<u32>(f), 0u, f == 0.0);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn sumF(t: u32, v: f32) -> f32 {
  redf[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { redf[t] += redf[t + w]; }
    workgroupBarrier();
  }
  let r = redf[0];
  workgroupBarrier();
  return r;
}

fn maxF(t: u32, v: f32) -> f32 {
  redf[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { redf[t] = max(redf[t], redf[t + w]); }
    workgroupBarrier();
  }
  let r = redf[0];
  workgroupBarrier();
  return r;
}

fn sumU(t: u32, v: u32) -> u32 {
  redu[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { redu[t] += redu[t + w]; }
    workgroupBarrier();
  }
  let r = redu[0];
  workgroupBarrier();
  return r;
}

// Argmax with the lowest index on ties.
fn argmaxF(t: u32, score: f32, index: u32) -> u32 {
  redf[t] = score;
  redu[t] = index;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) {
      let s = redf[t + w];
      if (s > redf[t] || (s == redf[t] && redu[t + w] < redu[t])) {
        redf[t] = s;
        redu[t] = redu[t + w];
      }
    }
    workgroupBarrier();
  }
  let r = redu[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j = wid.x;
  if (j >= params.jobs) { return; }
  let t = lid.x;
  let job = jobs[params.jobStart + j];
  let mb = j * V;
  // 1. CFG: mixed = u + g·(c − u).
  for (var v = t; v < V; v += WG) {
    let c = logits[job.condRow * V + v];
    var m = c;
    if (sampling.cfg != 1.0) {
      let u = logits[job.uncondRow * V + v];
      m = u + sampling.cfg * (c - u);
    }
    mixed[mb + v] = m;
  }
  storageBarrier();
  workgroupBarrier();
  var token = 0u;
  if (sampling.temperature == 0.0) {
    var best = -3.4e38;
    var bestIndex = 0xffffffffu;
    for (var v = t; v < V; v += WG) {
      let m = mixed[mb + v];
      if (bestIndex == 0xffffffffu || m > best) { best = m; bestIndex = v; }
    }
    token = argmaxF(t, best, bestIndex);
  } else {
    // 2. Top-k: kKey = order key of the k-th largest mixed logit (bitwise radix select).
    var kKey = 0u;
    if (sampling.topK > 0u && sampling.topK < V) {
      for (var bit = 31i; bit >= 0i; bit--) {
        let cand = kKey | (1u << u32(bit));
        var count = 0u;
        for (var v = t; v < V; v += WG) {
          count += select(0u, 1u, orderKey(mixed[mb + v]) >= cand);
        }
        if (sumU(t, count) >= sampling.topK) { kKey = cand; }
      }
    }
    // 3. Top-p: keep v iff the mass of strictly more likely kept tokens is < p, i.e. its key
    //    exceeds the largest y with mass(key > y) ≥ p.
    let temp = sampling.temperature;
    var pKey = 0u;
    var usePKey = false;
    if (sampling.topP < 1.0) {
      var mx = -3.4e38;
      for (var v = t; v < V; v += WG) {
        let m = mixed[mb + v];
        if (orderKey(m) >= kKey) { mx = max(mx, m / temp); }
      }
      let zmax = maxF(t, mx);
      var s = 0.0;
      for (var v = t; v < V; v += WG) {
        let m = mixed[mb + v];
        if (orderKey(m) >= kKey) { s += exp(m / temp - zmax); }
      }
      let total = sumF(t, s);
      for (var bit = 31i; bit >= 0i; bit--) {
        let cand = pKey | (1u << u32(bit));
        var mass = 0.0;
        for (var v = t; v < V; v += WG) {
          let m = mixed[mb + v];
          let key = orderKey(m);
          if (key >= kKey && key > cand) { mass += exp(m / temp - zmax); }
        }
        if (sumF(t, mass) / total >= sampling.topP) { pKey = cand; }
      }
      usePKey = true;
    }
    // 4. Gumbel-max over the kept tokens.
    let row = job.cell / W;
    let col = job.cell % W;
    let image = images[job.image];
    let key = cellKey(image.x, image.y, row, col);
    var best = -3.4e38;
    var bestIndex = 0xffffffffu;
    for (var v = t; v < V; v += WG) {
      let m = mixed[mb + v];
      let k = orderKey(m);
      if (k >= kKey && (!usePKey || k > pKey)) {
        let score = m / temp + gumbel(key, v);
        if (bestIndex == 0xffffffffu || score > best) { best = score; bestIndex = v; }
      }
    }
    token = argmaxF(t, best, bestIndex);
  }
  if (t == 0u) { grid[job.image * HW + job.cell] = i32(token); }
}
