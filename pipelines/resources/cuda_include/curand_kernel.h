/* Stand-in for the CUDA toolkit's curand_kernel.h: the generator states (XORWOW, Philox,
 * MRG32k3a, MTGP32) with the toolkit's layout, and the device functions as declarations (left as
 * calls in the IR, like libdevice's). */
#ifndef MIRENCODER_CURAND_KERNEL_H
#define MIRENCODER_CURAND_KERNEL_H
struct curandStateXORWOW {
  unsigned int d, v[5];
  int boxmuller_flag, boxmuller_flag_double;
  float boxmuller_extra;
  double boxmuller_extra_double;
};
struct curandStatePhilox4_32_10 {
  uint4 ctr, output;
  uint2 key;
  unsigned int STATE;
  int boxmuller_flag, boxmuller_flag_double;
  float boxmuller_extra;
  double boxmuller_extra_double;
};
struct curandStateMRG32k3a {
  unsigned int s1[3], s2[3];
  int boxmuller_flag, boxmuller_flag_double;
  float boxmuller_extra;
  double boxmuller_extra_double;
};
struct mtgp32_kernel_params;
struct curandStateMtgp32 {
  unsigned int s[1024];
  int offset, pIdx;
  struct mtgp32_kernel_params *k;
  int precise_double_flag;
};
typedef struct curandStateXORWOW curandStateXORWOW_t;
typedef struct curandStateXORWOW curandState_t;
typedef struct curandStateXORWOW curandState;
typedef struct curandStatePhilox4_32_10 curandStatePhilox4_32_10_t;
typedef struct curandStateMRG32k3a curandStateMRG32k3a_t;
typedef struct curandStateMtgp32 curandStateMtgp32_t;

#define MIRENCODER_CURAND(S)                                                                   \
  __device__ void curand_init(unsigned long long seed, unsigned long long subsequence,         \
                              unsigned long long offset, S *state);                            \
  __device__ unsigned int curand(S *state);                                                    \
  __device__ float curand_uniform(S *state);                                                   \
  __device__ double curand_uniform_double(S *state);                                           \
  __device__ float curand_normal(S *state);                                                    \
  __device__ double curand_normal_double(S *state);                                            \
  __device__ float2 curand_normal2(S *state);                                                  \
  __device__ double2 curand_normal2_double(S *state);                                          \
  __device__ float curand_log_normal(S *state, float mean, float stddev);                      \
  __device__ double curand_log_normal_double(S *state, double mean, double stddev);            \
  __device__ unsigned int curand_poisson(S *state, double lambda);
MIRENCODER_CURAND(curandStateXORWOW_t)
MIRENCODER_CURAND(curandStatePhilox4_32_10_t)
MIRENCODER_CURAND(curandStateMRG32k3a_t)
MIRENCODER_CURAND(curandStateMtgp32_t)
#undef MIRENCODER_CURAND
__device__ uint4 curand4(curandStatePhilox4_32_10_t *state);
__device__ float4 curand_uniform4(curandStatePhilox4_32_10_t *state);
__device__ float4 curand_normal4(curandStatePhilox4_32_10_t *state);
#endif
