// Layout and softmax steps of multi-head attention; the products run on the batched matmul
// kernel over z = (item, head) (see attention.ts). A tensor's head h of row r is the d values at
// r·stride + off + h·d, so q, k and v can be column blocks of one fused projection; the head-major
// copies are [batch, heads, rows, d].
//   split_heads:  y[b, h, r, :] = alpha·x[b, r, h·d : h·d + d]           (one thread per element)
//   merge_heads:  x[b, r, h·d + e] (+)= alpha·y[b, h, r, e]
//   softmax:      P[row, :] = softmax(scale·S[row, :])                    (one thread per row)
//   softmax_back: dS[row, :] = scale·P ⊙ (dP − Σ_j P·dP)                  (in place in dP)

struct Params { batch: u32, rows: u32, heads: u32, d: u32, stride: u32, off: u32, m: u32, accumulate: u32, scale: f32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Thread t → (b, h, r, e) of the head-major layout; returns the strided index.
fn strided_index(t: u32) -> u32 {
  let e = t % p.d;
  let r = (t / p.d) % p.rows;
  let h = (t / (p.d * p.rows)) % p.heads;
  let b = t / (p.d * p.rows * p.heads);
  return (b * p.rows + r) * p.stride + p.off + h * p.d + e;
}

@compute @workgroup_size(WG)
fn split_heads(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.rows * p.d) { return; }
  dst[t] = p.alpha * src[strided_index(t)];
}

@compute @workgroup_size(WG)
fn merge_heads(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.heads * p.rows * p.d) { return; }
  let at = strided_index(t);
  dst[at] = acc_value(p.accumulate, dst[at], p.alpha * src[t]);
}

// `rows` softmax rows of length m, in place in dst.
@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.rows) { return; }
  let base = t * p.m;
  var mx = dst[base];
  for (var j = 1u; j < p.m; j++) { mx = max(mx, dst[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < p.m; j++) {
    let e = exp(p.scale * (dst[base + j] - mx));
    dst[base + j] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < p.m; j++) { dst[base + j] *= inv; }
}

// src = P; dst holds dP and becomes dS.
@compute @workgroup_size(WG)
fn softmax_back(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.rows) { return; }
  let base = t * p.m;
  var dot = 0.0;
  for (var j = 0u; j < p.m; j++) { dot += src[base + j] * dst[base + j]; }
  for (var j = 0u; j < p.m; j++) { dst[base + j] = p.scale * src[base + j] * (dst[base + j] - dot); }
}
