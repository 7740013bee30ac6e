// Batched matmul with optional transposes and bias (operands in matmul-operands.wgsl), the
// register-tile variant: each thread owns a 4×4 tile of C, written out without private arrays
// (SwiftShader spills those).

fn a_at(base: u32, i: u32, kk: u32) -> f32 {
  if (TRANS_A) { return a[base + kk * p.m + i]; }
  return a[base + i * p.k + kk];
}

fn b_row(base: u32, kk: u32, j0: u32, j1: u32, j2: u32, j3: u32) -> vec4f {
  if (TRANS_B) {
    return vec4f(b[base + j0 * p.k + kk], b[base + j1 * p.k + kk], b[base + j2 * p.k + kk], b[base + j3 * p.k + kk]);
  }
  let row = base + kk * p.n;
  return vec4f(b[row + j0], b[row + j1], b[row + j2], b[row + j3]);
}

fn store_row(row_base: u32, i: u32, j: u32, v: vec4f) {
  if (i >= p.m) { return; }
  var out = v;
  if (HAS_BIAS) {
    out += vec4f(bias[min(j, p.n - 1u)], bias[min(j + 1u, p.n - 1u)], bias[min(j + 2u, p.n - 1u)], bias[min(j + 3u, p.n - 1u)]);
  }
  let at = row_base + i * p.n + j;
  for (var t = 0u; t < 4u; t++) {
    if (j + t < p.n) { c[at + t] = out[t]; }
  }
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i0 = id.y * 4u;
  let j0 = id.x * 4u;
  if (i0 >= p.m || j0 >= p.n) { return; }
  let base_a = id.z * p.stride_a;
  let base_b = id.z * p.stride_b;
  // Edge tiles re-read the last valid row/column and do not store it.
  let i1 = min(i0 + 1u, p.m - 1u);
  let i2 = min(i0 + 2u, p.m - 1u);
  let i3 = min(i0 + 3u, p.m - 1u);
  let j1 = min(j0 + 1u, p.n - 1u);
  let j2 = min(j0 + 2u, p.n - 1u);
  let j3 = min(j0 + 3u, p.n - 1u);
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    let bv = b_row(base_b, kk, j0, j1, j2, j3);
    c0 += a_at(base_a, i0, kk) * bv;
    c1 += a_at(base_a, i1, kk) * bv;
    c2 += a_at(base_a, i2, kk) * bv;
    c3 += a_at(base_a, i3, kk) * bv;
  }
  let row_base = id.z * p.m * p.n;
  store_row(row_base, i0, j0, c0);
  store_row(row_base, i0 + 1u, j0, c1);
  store_row(row_base, i0 + 2u, j0, c2);
  store_row(row_base, i0 + 3u, j0, c3);
}
