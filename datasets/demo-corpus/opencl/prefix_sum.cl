// Work-efficient (Blelloch) exclusive scan of one block in local memory.
__kernel void scan_block(__global const int *in, __global int *out,
                         __local int *tmp, const int n) {
  int lid = get_local_id(0);
  int m = 2 * get_local_size(0);
  int base = get_group_id(0) * m;
  tmp[2 * lid] = base + 2 * lid < n ? in[base + 2 * lid] : 0;
  tmp[2 * lid + 1] = base + 2 * lid + 1 < n ? in[base + 2 * lid + 1] : 0;
  int offset = 1;
  for (int d = m >> 1; d > 0; d >>= 1) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < d)
      tmp[offset * (2 * lid + 2) - 1] += tmp[offset * (2 * lid + 1) - 1];
    offset <<= 1;
  }
  if (lid == 0)
    tmp[m - 1] = 0;
  for (int d = 1; d < m; d <<= 1) {
    offset >>= 1;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < d) {
      int ai = offset * (2 * lid + 1) - 1, bi = offset * (2 * lid + 2) - 1;
      int t = tmp[ai];
      tmp[ai] = tmp[bi];
      tmp[bi] += t;
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (base + 2 * lid < n) out[base + 2 * lid] = tmp[2 * lid];
  if (base + 2 * lid + 1 < n) out[base + 2 * lid + 1] = tmp[2 * lid + 1];
}
