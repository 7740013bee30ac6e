// Patch quality (DESIGN §2): cosine of every generated patch with every reference patch of the
// same batch item, then max/argmax per generated patch (rows) and per reference patch (columns).
// Features are [batch, patches, dim] row-major f32. Ties keep the lowest index (strict `>` while
// scanning upwards), matching src/core/quality/cpu.ts.

// Squared norms below this count as zero vectors (cosine 0); same constant as ZERO_NORM_SQUARED.
const ZERO_NORM_SQUARED: f32 = 1e-24;
// Outputs per thread along each axis of the similarity tile (4×4 register tile).
const TILE: u32 = 4u;

// rows, dim: inv_norms; ng, nr, dim, batch0: similarity; ng, nr, batch0, items: reduce_max.
struct Params { rows: u32, dim: u32, ng: u32, nr: u32, batch0: u32, items: u32 }
@group(0) @binding(0) var<uniform> p: Params;

// ---- inv_norms: 1/‖x_row‖, or 0 for zero vectors -------------------------------------------
@group(0) @binding(1) var<storage, read> norm_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm_inv: array<f32>;

@compute @workgroup_size(WG)
fn inv_norms(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = thread_index(id, groups);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var sq = 0.0;
  for (var k = 0u; k < p.dim; k++) {
    let v = norm_x[base + k];
    sq += v * v;
  }
  norm_inv[row] = select(inverseSqrt(sq), 0.0, sq < ZERO_NORM_SQUARED);
}

// ---- similarity: sim[item, i, j] = <g_i, r_j> / (‖g_i‖ ‖r_j‖) for items batch0.. ------------
@group(0) @binding(1) var<storage, read> gen: array<f32>;
@group(0) @binding(2) var<storage, read> refs: array<f32>;
@group(0) @binding(3) var<storage, read> gen_inv: array<f32>;
@group(0) @binding(4) var<storage, read> ref_inv: array<f32>;
@group(0) @binding(5) var<storage, read_write> sim: array<f32>;

// Scalar loads: dim need not be a multiple of 4, so rows are not vec4-aligned.
fn gen4(at: u32) -> vec4f {
  return vec4f(gen[at], gen[at + 1u], gen[at + 2u], gen[at + 3u]);
}

fn ref4(at: u32) -> vec4f {
  return vec4f(refs[at], refs[at + 1u], refs[at + 2u], refs[at + 3u]);
}

// Stores row i (of the item whose first row in `sim` is item_row0) for columns j0..j0+3 in range.
fn store_row(item_row0: u32, i: u32, j0: u32, cos: vec4f) {
  if (i >= p.ng) { return; }
  let out = (item_row0 + i) * p.nr + j0;
  for (var c = 0u; c < TILE; c++) {
    if (j0 + c < p.nr) { sim[out + c] = cos[c]; }
  }
}

// Written out per row and column (no private arrays): SwiftShader keeps dynamically indexed
// arrays in memory, which made this kernel ~6× slower there.
@compute @workgroup_size(8, 8)
fn similarity(@builtin(global_invocation_id) id: vec3u) {
  let i0 = id.y * TILE;
  let j0 = id.x * TILE;
  if (i0 >= p.ng || j0 >= p.nr) { return; }
  let b = p.batch0 + id.z;
  // Out-of-range rows/columns of an edge tile re-read the last valid one and are not stored.
  let gr0 = b * p.ng + i0;
  let gr1 = b * p.ng + min(i0 + 1u, p.ng - 1u);
  let gr2 = b * p.ng + min(i0 + 2u, p.ng - 1u);
  let gr3 = b * p.ng + min(i0 + 3u, p.ng - 1u);
  let rr0 = b * p.nr + j0;
  let rr1 = b * p.nr + min(j0 + 1u, p.nr - 1u);
  let rr2 = b * p.nr + min(j0 + 2u, p.nr - 1u);
  let rr3 = b * p.nr + min(j0 + 3u, p.nr - 1u);
  let d = p.dim;
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  var k = 0u;
  for (; k + 4u <= d; k += 4u) {
    let b0 = ref4(rr0 * d + k);
    let b1 = ref4(rr1 * d + k);
    let b2 = ref4(rr2 * d + k);
    let b3 = ref4(rr3 * d + k);
    let a0 = gen4(gr0 * d + k);
    let a1 = gen4(gr1 * d + k);
    let a2 = gen4(gr2 * d + k);
    let a3 = gen4(gr3 * d + k);
    c0 += vec4f(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    c1 += vec4f(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    c2 += vec4f(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    c3 += vec4f(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  for (; k < d; k++) {
    let bv = vec4f(refs[rr0 * d + k], refs[rr1 * d + k], refs[rr2 * d + k], refs[rr3 * d + k]);
    c0 += gen[gr0 * d + k] * bv;
    c1 += gen[gr1 * d + k] * bv;
    c2 += gen[gr2 * d + k] * bv;
    c3 += gen[gr3 * d + k] * bv;
  }
  let r_inv = vec4f(ref_inv[rr0], ref_inv[rr1], ref_inv[rr2], ref_inv[rr3]);
  let base = id.z * p.ng;
  store_row(base, i0, j0, c0 * gen_inv[gr0] * r_inv);
  store_row(base, i0 + 1u, j0, c1 * gen_inv[gr1] * r_inv);
  store_row(base, i0 + 2u, j0, c2 * gen_inv[gr2] * r_inv);
  store_row(base, i0 + 3u, j0, c3 * gen_inv[gr3] * r_inv);
}

// ---- reduce_max: max/argmax of each sim row (COLUMNS = false) or column (true) ------------
@group(0) @binding(1) var<storage, read> red_sim: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_max: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_arg: array<u32>;

override COLUMNS: bool = false;

@compute @workgroup_size(WG)
fn reduce_max(@builtin(global_invocation_id) id: vec3u) {
  let n_out = select(p.ng, p.nr, COLUMNS);
  let n_scan = select(p.nr, p.ng, COLUMNS);
  let e = id.x;
  let item = id.y;
  if (e >= n_out || item >= p.items) { return; }
  let stride = select(1u, p.nr, COLUMNS);
  let start = item * p.ng * p.nr + select(e * p.nr, e, COLUMNS);
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
  let o = (p.batch0 + item) * n_out + e;
  out_max[o] = best;
  out_arg[o] = arg;
}
