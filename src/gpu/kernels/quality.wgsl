// Patch quality (DESIGN §2): cosine of every generated patch with every reference patch of the
// same batch item, then max/argmax per generated patch (rows) and per reference patch (columns).
// Features are [batch, patches, dim] row-major f32. Ties keep the lowest index (strict `>` while
// scanning upwards), matching src/core/quality/cpu.ts.

// Squared norms below this count as zero vectors (cosine 0); same constant as ZERO_NORM_SQUARED.
const ZERO_NORM_SQUARED: f32 = 1e-24;
// Outputs per thread along each axis of the similarity tile (4×4 register tile).
const TILE: u32 = 4u;

override WG: u32 = 64u;

// ---- inv_norms: 1/‖x_row‖, or 0 for zero vectors -------------------------------------------
struct NormParams { rows: u32, dim: u32 }
@group(0) @binding(0) var<storage, read> norm_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> norm_inv: array<f32>;
@group(0) @binding(2) var<uniform> np: NormParams;

@compute @workgroup_size(WG)
fn inv_norms(@builtin(global_invocation_id) id: vec3u) {
  let row = id.x;
  if (row >= np.rows) { return; }
  let base = row * np.dim;
  var sq = 0.0;
  for (var k = 0u; k < np.dim; k++) {
    let v = norm_x[base + k];
    sq += v * v;
  }
  norm_inv[row] = select(inverseSqrt(sq), 0.0, sq < ZERO_NORM_SQUARED);
}

// ---- similarity: sim[item, i, j] = <g_i, r_j> / (‖g_i‖ ‖r_j‖) for items batch0.. ------------
struct SimParams { ng: u32, nr: u32, dim: u32, batch0: u32 }
@group(0) @binding(0) var<storage, read> gen: array<f32>;
@group(0) @binding(1) var<storage, read> refs: array<f32>;
@group(0) @binding(2) var<storage, read> gen_inv: array<f32>;
@group(0) @binding(3) var<storage, read> ref_inv: array<f32>;
@group(0) @binding(4) var<storage, read_write> sim: array<f32>;
@group(0) @binding(5) var<uniform> sp: SimParams;

@compute @workgroup_size(8, 8)
fn similarity(@builtin(global_invocation_id) id: vec3u) {
  let i0 = id.y * TILE;
  let j0 = id.x * TILE;
  if (i0 >= sp.ng || j0 >= sp.nr) { return; }
  let b = sp.batch0 + id.z;
  // Out-of-range rows/columns of an edge tile re-read the last valid one and are not stored.
  var g_row: array<u32, 4>;
  var r_row: array<u32, 4>;
  for (var t = 0u; t < TILE; t++) {
    g_row[t] = b * sp.ng + min(i0 + t, sp.ng - 1u);
    r_row[t] = b * sp.nr + min(j0 + t, sp.nr - 1u);
  }
  var acc: array<vec4f, 4>;
  for (var k = 0u; k < sp.dim; k++) {
    let rv = vec4f(
      refs[r_row[0] * sp.dim + k],
      refs[r_row[1] * sp.dim + k],
      refs[r_row[2] * sp.dim + k],
      refs[r_row[3] * sp.dim + k],
    );
    for (var t = 0u; t < TILE; t++) {
      acc[t] += gen[g_row[t] * sp.dim + k] * rv;
    }
  }
  let r_inv = vec4f(ref_inv[r_row[0]], ref_inv[r_row[1]], ref_inv[r_row[2]], ref_inv[r_row[3]]);
  for (var t = 0u; t < TILE; t++) {
    let i = i0 + t;
    if (i >= sp.ng) { break; }
    let cos = acc[t] * gen_inv[g_row[t]] * r_inv;
    let out = (id.z * sp.ng + i) * sp.nr + j0;
    for (var c = 0u; c < TILE; c++) {
      if (j0 + c < sp.nr) { sim[out + c] = cos[c]; }
    }
  }
}

// ---- reduce_max: max/argmax of each sim row (COLUMNS = false) or column (true) ------------
struct ReduceParams { ng: u32, nr: u32, batch0: u32, items: u32 }
@group(0) @binding(0) var<storage, read> red_sim: array<f32>;
@group(0) @binding(1) var<storage, read_write> out_max: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_arg: array<u32>;
@group(0) @binding(3) var<uniform> rp: ReduceParams;

override COLUMNS: bool = false;

@compute @workgroup_size(WG)
fn reduce_max(@builtin(global_invocation_id) id: vec3u) {
  let n_out = select(rp.ng, rp.nr, COLUMNS);
  let n_scan = select(rp.nr, rp.ng, COLUMNS);
  let e = id.x;
  let item = id.y;
  if (e >= n_out || item >= rp.items) { return; }
  let stride = select(1u, rp.nr, COLUMNS);
  let start = item * rp.ng * rp.nr + select(e * rp.nr, e, COLUMNS);
  // Seeded with the first candidate: WGSL has no -inf literal, and NaN then propagates as on the CPU.
  var best = red_sim[start];
  var arg = 0u;
  for (var s = 1u; s < n_scan; s++) {
    let v = red_sim[start + s * stride];
    if (v > best) {
      best = v;
      arg = s;
    }
  }
  let o = (rp.batch0 + item) * n_out + e;
  out_max[o] = best;
  out_arg[o] = arg;
}
