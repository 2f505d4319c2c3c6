// CFG mixing and sampling on the device: the WGSL implementation of the keyed sampler that
// docs/sampling.md defines (core/sampling.ts and the Python worker's sampler.py are the other two),
// in float32, so a near-tie may fall the other way (docs/sampling.md, "Precision"); held to the
// golden table testing/golden/sampling.json by sampler_test.ts. One workgroup per sampling job
// (image, cell). The token goes into the device-resident grid. Constants: V, HW, W.
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
var<workgroup> histHi: array<atomic<u32>, 256>; // selectKey's bins (WG must be 256)
var<workgroup> histLo: array<atomic<u32>, 256>;
var<workgroup> groupHi: array<u32, 16>; // sums of 16 bins each
var<workgroup> groupLo: array<u32, 16>;

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

// A bin's weight as f32: hi + lo / 2¹⁶ (counts: lo = 0, exact below 2²⁴).
fn binWeight(hi: u32, lo: u32) -> f32 {
  return f32(hi) + f32(lo) * (1.0 / 65536.0);
}

// Radix select over order keys, 8 bits a level: the largest key x such that the weight of the
// tokens with key ≥ x (among those with key ≥ floorKey) reaches the goal. A token weighs 1
// (top-k: goal = k) or q = exp(m/temp − zmax) ∈ (0, 1] (top-p: goal = p · the kept total).
// Each level adds the weights of the tokens that share the digits chosen so far into 256 bins
// by their next digit, with integer atomics (q in 2⁻³² fixed point, split hi/lo: sums are exact
// and the same on every run), then every invocation walks the same bins from the top to the
// digit where the running weight reaches the goal, so the choice is uniform.
fn selectKey(t: u32, mb: u32, floorKey: u32, byMass: bool, k: f32, p: f32, zmax: f32) -> u32 {
  let temp = sampling.temperature;
  var prefix = 0u;
  var above = 0.0; // weight of the tokens above the range chosen so far
  var goal = k;
  for (var level = 0u; level < 4u; level++) {
    let shift = 24u - 8u * level;
    atomicStore(&histHi[t], 0u); // WG = 256: one bin per invocation
    atomicStore(&histLo[t], 0u);
    workgroupBarrier();
    for (var v = t; v < V; v += WG) {
      let m = mixed[mb + v];
      let key = orderKey(m);
      if (key >= floorKey && (level == 0u || (key >> (shift + 8u)) == (prefix >> (shift + 8u)))) {
        let bin = (key >> shift) & 255u;
        if (byMass) {
          let q = exp(m / temp - zmax) * 65536.0;
          let hi = floor(q);
          atomicAdd(&histHi[bin], u32(hi));
          atomicAdd(&histLo[bin], u32((q - hi) * 65536.0));
        } else {
          atomicAdd(&histHi[bin], 1u);
        }
      }
    }
    workgroupBarrier();
    if (t < 16u) {
      var hi = 0u;
      var lo = 0u;
      for (var b = 16u * t; b < 16u * t + 16u; b++) {
        hi += atomicLoad(&histHi[b]);
        lo += atomicLoad(&histLo[b]);
      }
      groupHi[t] = hi;
      groupLo[t] = lo;
    }
    workgroupBarrier();
    if (level == 0u && byMass) {
      var total = 0.0;
      for (var g = 0u; g < 16u; g++) { total += binWeight(groupHi[g], groupLo[g]); }
      goal = p * total;
    }
    // Groups of 16 bins first, then the bins of the chosen group; the lowest if rounding
    // leaves the goal unreached.
    var run = above;
    var group = 0u;
    for (var g = 15i; g >= 0i; g--) {
      let next = run + binWeight(groupHi[g], groupLo[g]);
      if (next >= goal || g == 0i) { group = u32(g); break; }
      run = next;
    }
    var bin = 16u * group;
    for (var i = 15i; i >= 0i; i--) {
      let b = 16u * group + u32(i);
      let next = run + binWeight(atomicLoad(&histHi[b]), atomicLoad(&histLo[b]));
      if (next >= goal || i == 0i) { bin = b; break; }
      run = next;
    }
    above = run;
    prefix |= bin << shift;
    workgroupBarrier(); // the bins are cleared by the next level
  }
  return prefix;
}

// The best score over the workgroup and its index, the lowest index on ties.
struct Best {
  score: f32,
  index: u32,
}

fn argmaxF(t: u32, score: f32, index: u32) -> Best {
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
  let r = Best(redf[0], redu[0]);
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
  // 1. CFG: mixed = u + g·(c − u); the largest mixed logit on the way.
  var mx = -3.4e38;
  var mxIndex = 0xffffffffu;
  for (var v = t; v < V; v += WG) {
    let c = logits[job.condRow * V + v];
    var m = c;
    if (sampling.cfg != 1.0) {
      let u = logits[job.uncondRow * V + v];
      m = u + sampling.cfg * (c - u);
    }
    mixed[mb + v] = m;
    if (mxIndex == 0xffffffffu || m > mx) { mx = m; mxIndex = v; }
  }
  let largest = argmaxF(t, mx, mxIndex);
  var token = largest.index; // greedy's token
  if (sampling.temperature != 0.0) {
    let temp = sampling.temperature;
    let zmax = largest.score / temp; // top-k always keeps the largest logit
    // 2. Top-k: kKey = order key of the k-th largest mixed logit.
    var kKey = 0u;
    if (sampling.topK > 0u && sampling.topK < V) {
      kKey = selectKey(t, mb, 0u, false, f32(sampling.topK), 0.0, zmax);
    }
    // 3. Top-p: keep the tie groups from the top until the mass before a group reaches p, i.e.
    //    keys ≥ the largest x with mass(key ≥ x) ≥ p · total.
    var pKey = kKey;
    if (sampling.topP < 1.0) {
      pKey = selectKey(t, mb, kKey, true, 0.0, sampling.topP, zmax);
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
      if (orderKey(m) >= pKey) {
        let score = m / temp + gumbel(key, v);
        if (bestIndex == 0xffffffffu || score > best) { best = score; bestIndex = v; }
      }
    }
    token = argmaxF(t, best, bestIndex).index;
  }
  if (t == 0u) { grid[job.image * HW + job.cell] = i32(token); }
}
