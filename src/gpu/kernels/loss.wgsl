// Losses over a prediction split into `segments` equal samples of d = n / segments values.
//   sq_err:        e[i] = w[i]·(pred[i] − target_[i])²                     (w = 1 without WEIGHTED)
//   reduce:        out[s] = scale·Σ_{i ∈ segment s} e[i]   (one workgroup per segment)
//   mse_grad:      grad[i] = 2·coef[s]·w[i]·(pred[i] − target_[i])/d        (s = i / d)
//   dpo (1 thread): over P pairs, errors e = [winners | losers], e_ref likewise,
//                  δ = (e_w − e_w^ref) − (e_l − e_l^ref), loss = mean log(1 + exp(β·δ)),
//                  de_w = β·σ(β·δ)/P = −de_l; out = [loss], grad = de [2P].
// Weighted MSE = sq_err → reduce(scale 1/n) → mse_grad(coef = 1, one segment); per-sample
// errors = reduce(scale 1/d) over B segments, chained back with mse_grad(coef = ∂L/∂e).

override WEIGHTED: bool = false;

struct Params { n: u32, segments: u32, scale: f32, beta: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> target_: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> coef: array<f32>;
@group(0) @binding(6) var<storage, read> e_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn w_at(i: u32) -> f32 {
  if (WEIGHTED) { return weight[i]; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn sq_err(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= p.n) { return; }
  let r = pred[i] - target_[i];
  out[i] = w_at(i) * r * r;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let d = p.n / p.segments;
  let base = wid.x * d;
  var s = 0.0;
  for (var i = lid.x; i < d; i += WG) { s += e_in[base + i]; }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[wid.x] = p.scale * partial[0]; }
}

@compute @workgroup_size(WG)
fn mse_grad(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= p.n) { return; }
  let d = p.n / p.segments;
  grad[i] = 2.0 * coef[i / d] * w_at(i) * (pred[i] - target_[i]) / f32(d);
}

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

@compute @workgroup_size(1)
fn dpo() {
  let pairs = p.segments;
  var loss = 0.0;
  for (var i = 0u; i < pairs; i++) {
    let delta = (e_in[i] - coef[i]) - (e_in[pairs + i] - coef[pairs + i]);
    loss += softplus(p.beta * delta);
    let g = p.beta / (1.0 + exp(-p.beta * delta)) / f32(pairs);
    grad[i] = g;
    grad[pairs + i] = -g;
  }
  out[0] = loss / f32(pairs);
}
