// Element-wise activations, ACT 0 = tanh-GELU, 1 = SiLU.
//   gelu(x) = 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
//   gelu′(x) = 0.5(1 + tanh u) + 0.5·x·(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)
//   silu(x) = x·σ(x),  silu′(x) = σ(x)(1 + x(1 − σ(x)))
//   forward: y = f(x);  backward: dx (+)= dy·f′(x)

override ACT: u32 = 0u;
const K: f32 = 0.7978845608028654;

struct Params { n: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// tanh through exp, clamped: some backends' tanh returns NaN for large |u|.
fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * clamp(abs(u), 0.0, 40.0));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

fn f(v: f32) -> f32 {
  if (ACT == 0u) { return 0.5 * v * (1.0 + tanh_safe(K * (v + 0.044715 * v * v * v))); }
  return v * sigmoid(v);
}

fn df(v: f32) -> f32 {
  if (ACT == 0u) {
    let t = tanh_safe(K * (v + 0.044715 * v * v * v));
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * K * (1.0 + 3.0 * 0.044715 * v * v);
  }
  let s = sigmoid(v);
  return s * (1.0 + v * (1.0 - s));
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[i] = f(x[i]); }
}

// y holds dx here.
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[i] = acc_value(p.accumulate, y[i], dy[i] * df(x[i])); }
}
