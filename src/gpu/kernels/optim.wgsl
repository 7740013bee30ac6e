// Global grad-norm clipping fused into AdamW over one flat parameter buffer (all trainable
// tensors packed together), PyTorch semantics:
//   sum_squares (one workgroup): sq[0] = Σ g²
//   adamw:  c = min(1, max_norm/(√sq + 1e-6)) (c = 1 when max_norm ≤ 0); g ← c·g
//           p ← p·(1 − lr·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²
//           p ← p − (lr/bc1)·m/(√v/√bc2 + ε),  bc1 = 1 − β₁ᵗ, bc2 = 1 − β₂ᵗ

struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2_sqrt: f32, max_norm: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> sq: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> sq_in: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn sum_squares(@builtin(local_invocation_id) lid: vec3u) {
  var s = 0.0;
  for (var i = lid.x; i < p.n; i += WG) { s += grad[i] * grad[i]; }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { sq[0] = partial[0]; }
}

@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= p.n) { return; }
  var c = 1.0;
  if (p.max_norm > 0.0) { c = min(1.0, p.max_norm / (sqrt(sq_in[0]) + 1e-6)); }
  let g = c * grad[i];
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * (1.0 - p.lr * p.wd) - (p.lr / p.bc1) * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
}
