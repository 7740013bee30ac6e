// The batched matmul of matmul.wgsl (same operands, transposes, broadcast and bias), tiled through
// workgroup memory for real GPUs: a 16×16 workgroup computes a 64×64 tile of C, each thread a 4×4
// block in four vec4 accumulators. Per step of 16 along K, the workgroup stages a 64×16 slice of
// op(A) and a 16×64 slice of op(B) in shared memory (zero outside the matrices, so edge tiles need
// no clamping), reading each operand along its contiguous axis whatever its transpose; every thread
// then reads its four rows and four columns as vec4s, so each value from global memory is used 64
// times. Uniform control flow throughout: the barriers are reached by every thread.

const TILE: u32 = 64u;
const TK: u32 = 16u;

// op(A) slice k-major: a_tile[kk·16 + i/4][i%4] = op(A)[row0 + i, k0 + kk]; likewise b_tile by column.
var<workgroup> a_tile: array<vec4f, 256>;
var<workgroup> b_tile: array<vec4f, 256>;

fn load_a(base: u32, i: u32, kk: u32) -> f32 {
  if (i >= p.m || kk >= p.k) { return 0.0; }
  if (TRANS_A) { return a[base + kk * p.m + i]; }
  return a[base + i * p.k + kk];
}

fn load_b(base: u32, kk: u32, j: u32) -> f32 {
  if (kk >= p.k || j >= p.n) { return 0.0; }
  if (TRANS_B) { return b[base + j * p.k + kk]; }
  return b[base + kk * p.n + j];
}

fn store_row(row_base: u32, i: u32, j: u32, v: vec4f) {
  if (i >= p.m) { return; }
  for (var t = 0u; t < 4u; t++) {
    if (j + t < p.n) {
      var out = v[t];
      if (HAS_BIAS) { out += bias[j + t]; }
      c[row_base + i * p.n + j + t] = out;
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let base_a = wg.z * p.stride_a;
  let base_b = wg.z * p.stride_b;
  let flat = lid.y * 16u + lid.x;
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TK) {
    // 1024 values of each slice, four per thread; consecutive threads read consecutive addresses.
    for (var q = 0u; q < 4u; q++) {
      let e = flat + q * 256u;
      var i = e / TK;
      var kk = e % TK;
      if (TRANS_A) { i = e % TILE; kk = e / TILE; }
      a_tile[kk * 16u + i / 4u][i % 4u] = load_a(base_a, row0 + i, k0 + kk);
      var j = e % TILE;
      var kb = e / TILE;
      if (TRANS_B) { j = e / TK; kb = e % TK; }
      b_tile[kb * 16u + j / 4u][j % 4u] = load_b(base_b, k0 + kb, col0 + j);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = a_tile[kk * 16u + lid.y];
      let bv = b_tile[kk * 16u + lid.x];
      c0 += av.x * bv;
      c1 += av.y * bv;
      c2 += av.z * bv;
      c3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let row_base = wg.z * p.m * p.n;
  let i0 = row0 + lid.y * 4u;
  let j0 = col0 + lid.x * 4u;
  store_row(row_base, i0, j0, c0);
  store_row(row_base, i0 + 1u, j0, c1);
  store_row(row_base, i0 + 2u, j0, c2);
  store_row(row_base, i0 + 3u, j0, c3);
}
