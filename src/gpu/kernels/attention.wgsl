// Multi-head softmax attention, heads concatenated, one thread per output element in each pass.
// q is [batch, n, ·], k and v are [batch, m, ·]; head h of a row is the d values at
// row·stride + offset + h·d, so q, k and v can be column blocks of one fused projection.
// P is [batch, heads, n, m]; the output o is [batch, n, heads·d] and is scaled by alpha.
//   scores:        S = q·kᵀ·scale                  (into P)
//   softmax:       P = softmax_rows(S)              (in place)
//   weighted_sum:  o (+)= alpha·P·v
//   grad_probs:    dP = alpha·do·vᵀ
//   softmax_back:  dS = P ⊙ (dP − Σ_j P·dP)·scale   (in place in dP)
//   grad_q:        dq (+)= dS·k
//   grad_k:        dk (+)= dSᵀ·q
//   grad_v:        dv (+)= alpha·Pᵀ·do

struct Params {
  batch: u32, n: u32, m: u32, heads: u32, d: u32,
  q_stride: u32, q_off: u32, k_stride: u32, k_off: u32, v_stride: u32, v_off: u32,
  accumulate: u32, scale: f32, alpha: f32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read> dprobs_in: array<f32>;
@group(0) @binding(7) var<storage, read> probs_in: array<f32>;
@group(0) @binding(8) var<storage, read> dout: array<f32>;

fn q_at(b: u32, i: u32, h: u32) -> u32 { return (b * p.n + i) * p.q_stride + p.q_off + h * p.d; }
fn k_at(b: u32, j: u32, h: u32) -> u32 { return (b * p.m + j) * p.k_stride + p.k_off + h * p.d; }
fn v_at(b: u32, j: u32, h: u32) -> u32 { return (b * p.m + j) * p.v_stride + p.v_off + h * p.d; }
// Output (and its gradient) rows are contiguous heads·d.
fn o_at(b: u32, i: u32, h: u32) -> u32 { return (b * p.n + i) * p.heads * p.d + h * p.d; }
fn p_at(b: u32, h: u32, i: u32) -> u32 { return ((b * p.heads + h) * p.n + i) * p.m; }

// Thread t → (b, h, i, j) over [batch, heads, n, m].
@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.n * p.m) { return; }
  let j = t % p.m;
  let i = (t / p.m) % p.n;
  let h = (t / (p.m * p.n)) % p.heads;
  let b = t / (p.m * p.n * p.heads);
  let qa = q_at(b, i, h);
  let ka = k_at(b, j, h);
  var s = 0.0;
  for (var e = 0u; e < p.d; e++) { s += q[qa + e] * k[ka + e]; }
  probs[t] = s * p.scale;
}

// Thread t → row (b, h, i).
@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.n) { return; }
  let base = t * p.m;
  var mx = probs[base];
  for (var j = 1u; j < p.m; j++) { mx = max(mx, probs[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < p.m; j++) {
    let e = exp(probs[base + j] - mx);
    probs[base + j] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < p.m; j++) { probs[base + j] *= inv; }
}

// Thread t → (b, i, h, e) over the output [batch, n, heads·d].
@compute @workgroup_size(WG)
fn weighted_sum(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.n * p.heads * p.d) { return; }
  let e = t % p.d;
  let h = (t / p.d) % p.heads;
  let i = (t / (p.d * p.heads)) % p.n;
  let b = t / (p.d * p.heads * p.n);
  let pa = p_at(b, h, i);
  var acc = 0.0;
  for (var j = 0u; j < p.m; j++) { acc += probs_in[pa + j] * v[v_at(b, j, h) + e]; }
  o[t] = acc_value(p.accumulate, o[t], p.alpha * acc);
}

// Backward: `o` is the buffer being written (dP, dq, dk or dv), `probs_in` is P, `dprobs_in` is
// dS and `dout` the upstream gradient of the output.

// Thread t → (b, h, i, j).
@compute @workgroup_size(WG)
fn grad_probs(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.n * p.m) { return; }
  let j = t % p.m;
  let i = (t / p.m) % p.n;
  let h = (t / (p.m * p.n)) % p.heads;
  let b = t / (p.m * p.n * p.heads);
  let oa = o_at(b, i, h);
  let va = v_at(b, j, h);
  var s = 0.0;
  for (var e = 0u; e < p.d; e++) { s += dout[oa + e] * v[va + e]; }
  o[t] = p.alpha * s;
}

// Thread t → row (b, h, i); o holds dP and becomes dS.
@compute @workgroup_size(WG)
fn softmax_back(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.n) { return; }
  let base = t * p.m;
  var dot = 0.0;
  for (var j = 0u; j < p.m; j++) { dot += probs_in[base + j] * o[base + j]; }
  for (var j = 0u; j < p.m; j++) { o[base + j] = probs_in[base + j] * (o[base + j] - dot) * p.scale; }
}

// Thread t → (b, i, h, e); writes dq at q's layout.
@compute @workgroup_size(WG)
fn grad_q(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.n * p.heads * p.d) { return; }
  let e = t % p.d;
  let h = (t / p.d) % p.heads;
  let i = (t / (p.d * p.heads)) % p.n;
  let b = t / (p.d * p.heads * p.n);
  let pa = p_at(b, h, i);
  var acc = 0.0;
  for (var j = 0u; j < p.m; j++) { acc += dprobs_in[pa + j] * k[k_at(b, j, h) + e]; }
  let at = q_at(b, i, h) + e;
  o[at] = acc_value(p.accumulate, o[at], acc);
}

// Thread t → (b, j, h, e) over [batch, m, heads·d]; writes dk at k's layout.
@compute @workgroup_size(WG)
fn grad_k(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.m * p.heads * p.d) { return; }
  let e = t % p.d;
  let h = (t / p.d) % p.heads;
  let j = (t / (p.d * p.heads)) % p.m;
  let b = t / (p.d * p.heads * p.m);
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) { acc += dprobs_in[p_at(b, h, i) + j] * q[q_at(b, i, h) + e]; }
  let at = k_at(b, j, h) + e;
  o[at] = acc_value(p.accumulate, o[at], acc);
}

// Thread t → (b, j, h, e); writes dv at v's layout.
@compute @workgroup_size(WG)
fn grad_v(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.m * p.heads * p.d) { return; }
  let e = t % p.d;
  let h = (t / p.d) % p.heads;
  let j = (t / (p.d * p.heads)) % p.m;
  let b = t / (p.d * p.heads * p.m);
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) { acc += probs_in[p_at(b, h, i) + j] * dout[o_at(b, i, h) + e]; }
  let at = v_at(b, j, h) + e;
  o[at] = acc_value(p.accumulate, o[at], p.alpha * acc);
}
