// Layout and element-wise tensor ops.
//   add_bcast:  y[i] (+)= alpha·a[i mod period]           (bias/position adds, axpy when period = n)
//   patchify:   y[b, gy·g+gx, c·p²+py·p+px] = x[b, c, gy·p+py, gx·p+px]   (one thread per element)
//   unpatchify: the inverse permutation
//   gather:     y[r, :] = x[ids[r], :]                     (embedding lookup)
//   gather_back: y[v, :] (+)= Σ_{r: ids[r] = v} a[r, :]    (one thread per table element, no atomics)

struct Params { n: u32, period: u32, c: u32, channels: u32, size: u32, pt: u32, accumulate: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;

@compute @workgroup_size(WG)
fn add_bcast(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[i] = acc_value(p.accumulate, y[i], p.alpha * a[i % p.period]); }
}

// Thread i → latent element (b, c, yy, xx); returns the token-layout index.
fn token_index(i: u32) -> u32 {
  let s = p.size;
  let xx = i % s;
  let yy = (i / s) % s;
  let c = (i / (s * s)) % p.channels;
  let b = i / (s * s * p.channels);
  let g = s / p.pt;
  let tok = (yy / p.pt) * g + xx / p.pt;
  let feat = c * p.pt * p.pt + (yy % p.pt) * p.pt + xx % p.pt;
  return (b * g * g + tok) * p.channels * p.pt * p.pt + feat;
}

@compute @workgroup_size(WG)
fn patchify(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[token_index(i)] = a[i]; }
}

@compute @workgroup_size(WG)
fn unpatchify(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[i] = a[token_index(i)]; }
}

// n = rows·c outputs.
@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < p.n) { y[i] = a[ids[i / p.c] * p.c + i % p.c]; }
}

// n = vocab·c outputs; period = number of ids.
@compute @workgroup_size(WG)
fn gather_back(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= p.n) { return; }
  let v = i / p.c;
  var s = 0.0;
  for (var r = 0u; r < p.period; r++) {
    if (ids[r] == v) { s += a[r * p.c + i % p.c]; }
  }
  y[i] = acc_value(p.accumulate, y[i], s);
}
