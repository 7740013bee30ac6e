// Prefix of every engine kernel module (dispatch.ts prepends it): 1-D thread indices over a grid
// that may wrap into a second dimension when a tensor needs more than 65535 workgroups.
const WG: u32 = 64u;

fn thread_index(id: vec3u, groups: vec3u) -> u32 {
  return id.x + id.y * groups.x * WG;
}

// Output with optional accumulation: backward kernels add into gradients that several ops share.
fn acc_value(flag: u32, old: f32, value: f32) -> f32 {
  return select(value, old + value, flag != 0u);
}
