// adaLN modulation and gated residuals over x [batch, tokens, c]. The per-item vectors (shift,
// scale, gate) are column blocks of the ada projection's output `mod` [batch, mod_stride], at
// offsets `a_off` (shift or gate) and `b_off` (scale).
//   modulate:        y = x·(1 + scale) + shift
//   modulate_back:   dx (+)= dy·(1 + scale)
//   modulate_params: dshift (+)= Σ_t dy, dscale (+)= Σ_t dy·x     (written at mod's layout)
//   gate_add:        x += gate·h                                   (in place on the residual)
//   gate_back:       dh (+)= dx·gate
//   gate_param:      dgate (+)= Σ_t dx·h                           (written at mod's layout)

struct Params { batch: u32, tokens: u32, c: u32, mod_stride: u32, a_off: u32, b_off: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mods: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;

fn item_col(t: u32) -> vec2u { return vec2u(t / (p.tokens * p.c), t % p.c); }

@compute @workgroup_size(WG)
fn modulate(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.tokens * p.c) { return; }
  let bc = item_col(t);
  let m = bc.x * p.mod_stride + bc.y;
  y[t] = x[t] * (1.0 + mods[m + p.b_off]) + mods[m + p.a_off];
}

@compute @workgroup_size(WG)
fn modulate_back(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.tokens * p.c) { return; }
  let bc = item_col(t);
  y[t] = acc_value(p.accumulate, y[t], dy[t] * (1.0 + mods[bc.x * p.mod_stride + bc.y + p.b_off]));
}

// Thread t → (b, i); y is dmod [batch, mod_stride].
@compute @workgroup_size(WG)
fn modulate_params(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.c) { return; }
  let b = t / p.c;
  let i = t % p.c;
  var ds = 0.0;
  var dsc = 0.0;
  for (var k = 0u; k < p.tokens; k++) {
    let at = (b * p.tokens + k) * p.c + i;
    ds += dy[at];
    dsc += dy[at] * x[at];
  }
  let m = b * p.mod_stride + i;
  y[m + p.a_off] = acc_value(p.accumulate, y[m + p.a_off], ds);
  y[m + p.b_off] = acc_value(p.accumulate, y[m + p.b_off], dsc);
}

// x is h here and y the residual stream.
@compute @workgroup_size(WG)
fn gate_add(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.tokens * p.c) { return; }
  let bc = item_col(t);
  y[t] += mods[bc.x * p.mod_stride + bc.y + p.a_off] * x[t];
}

// dy is the residual gradient, y receives dh.
@compute @workgroup_size(WG)
fn gate_back(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.tokens * p.c) { return; }
  let bc = item_col(t);
  y[t] = acc_value(p.accumulate, y[t], dy[t] * mods[bc.x * p.mod_stride + bc.y + p.a_off]);
}

// Thread t → (b, i); x is h, dy the residual gradient, y is dmod.
@compute @workgroup_size(WG)
fn gate_param(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= p.batch * p.c) { return; }
  let b = t / p.c;
  let i = t % p.c;
  var dg = 0.0;
  for (var k = 0u; k < p.tokens; k++) {
    let at = (b * p.tokens + k) * p.c + i;
    dg += dy[at] * x[at];
  }
  let m = b * p.mod_stride + i + p.a_off;
  y[m] = acc_value(p.accumulate, y[m], dg);
}
