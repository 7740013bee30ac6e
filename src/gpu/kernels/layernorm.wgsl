// Layer norm over the last axis, one thread per row (rows of ≤ 1024 values in the engine).
//   forward:  μ, rstd = 1/√(var + ε) (biased variance); y = (x − μ)·rstd (·γ + β when AFFINE)
//   backward: x̂ = (x − μ)·rstd, g = dy·γ; dx (+)= rstd·(g − mean(g) − x̂·mean(g·x̂))
//   backward_params (one thread per column): dγ (+)= Σ_rows dy·x̂, dβ (+)= Σ_rows dy

override AFFINE: bool = false;

struct Params { rows: u32, c: u32, accumulate: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// [rows, 2]: mean, rstd
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(9) var<storage, read_write> dbeta: array<f32>;

fn scale_at(i: u32) -> f32 {
  if (AFFINE) { return gamma[i]; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= p.rows) { return; }
  let o = r * p.c;
  let n = f32(p.c);
  var mean = 0.0;
  for (var i = 0u; i < p.c; i++) { mean += x[o + i]; }
  mean /= n;
  var v = 0.0;
  for (var i = 0u; i < p.c; i++) { let d = x[o + i] - mean; v += d * d; }
  let rstd = inverseSqrt(v / n + p.eps);
  stats[2u * r] = mean;
  stats[2u * r + 1u] = rstd;
  for (var i = 0u; i < p.c; i++) {
    let xh = (x[o + i] - mean) * rstd;
    if (AFFINE) { y[o + i] = xh * gamma[i] + beta[i]; } else { y[o + i] = xh; }
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= p.rows) { return; }
  let o = r * p.c;
  let mean = stats[2u * r];
  let rstd = stats[2u * r + 1u];
  var mg = 0.0;
  var mgx = 0.0;
  for (var i = 0u; i < p.c; i++) {
    let g = dy[o + i] * scale_at(i);
    mg += g;
    mgx += g * (x[o + i] - mean) * rstd;
  }
  mg /= f32(p.c);
  mgx /= f32(p.c);
  for (var i = 0u; i < p.c; i++) {
    let xh = (x[o + i] - mean) * rstd;
    dx[o + i] = acc_value(p.accumulate, dx[o + i], rstd * (dy[o + i] * scale_at(i) - mg - xh * mgx));
  }
}

@compute @workgroup_size(WG)
fn backward_params(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= p.c) { return; }
  var dg = 0.0;
  var db = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let g = dy[r * p.c + i];
    dg += g * (x[r * p.c + i] - stats[2u * r]) * stats[2u * r + 1u];
    db += g;
  }
  dgamma[i] = acc_value(p.accumulate, dgamma[i], dg);
  dbeta[i] = acc_value(p.accumulate, dbeta[i], db);
}
