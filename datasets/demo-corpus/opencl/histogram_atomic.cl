// 256-bin histogram: per-work-group bins in local memory, merged with global atomics.
__kernel void histogram256(__global const uchar *data, const int n,
                           __global uint *bins) {
  __local uint local_bins[256];
  int lid = get_local_id(0);
  for (int b = lid; b < 256; b += get_local_size(0))
    local_bins[b] = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = get_global_id(0); i < n; i += get_global_size(0))
    atomic_inc(&local_bins[data[i]]);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int b = lid; b < 256; b += get_local_size(0))
    atomic_add(&bins[b], local_bins[b]);
}
