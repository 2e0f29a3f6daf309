// Block-level sum in shared memory; block results are combined with atomicAdd.
#define BLOCK 256

__device__ float warp_safe_load(const float *in, int i, int n) { return i < n ? in[i] : 0.0f; }

__global__ void block_reduce(const float *in, float *total, int n) {
  __shared__ float buf[BLOCK];
  int t = threadIdx.x;
  buf[t] = warp_safe_load(in, blockIdx.x * blockDim.x + t, n);
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s)
      buf[t] += buf[t + s];
    __syncthreads();
  }
  if (t == 0)
    atomicAdd(total, buf[0]);
}
