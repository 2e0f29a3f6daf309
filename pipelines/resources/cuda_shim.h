/* Minimal CUDA shim for compiling device code with clang without a CUDA toolkit.
 *
 * clang's `-nocudainc` drops the CUDA runtime wrapper, which is what normally defines the
 * execution-space keywords. This header restores them as clang attributes and pulls in the
 * builtin variables (threadIdx, blockIdx, blockDim, gridDim, warpSize). It is injected with
 * `-include` by mirencoder.pipelines.compile for language "cuda".
 */
#ifndef MIRENCODER_CUDA_SHIM_H
#define MIRENCODER_CUDA_SHIM_H

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))

#include <__clang_cuda_builtin_vars.h>

/* A few device intrinsics that small kernels commonly use. */
__device__ void __syncthreads(void) __asm__("llvm.nvvm.barrier0");
#define __threadfence() __nvvm_membar_gl()
#define __threadfence_block() __nvvm_membar_cta()

__device__ static inline int atomicAdd(int *p, int v) { return __nvvm_atom_add_gen_i(p, v); }
__device__ static inline unsigned atomicAdd(unsigned *p, unsigned v) {
  return (unsigned)__nvvm_atom_add_gen_i((int *)p, (int)v);
}
__device__ static inline float atomicAdd(float *p, float v) { return __nvvm_atom_add_gen_f(p, v); }
__device__ static inline int atomicMax(int *p, int v) { return __nvvm_atom_max_gen_i(p, v); }
__device__ static inline int atomicMin(int *p, int v) { return __nvvm_atom_min_gen_i(p, v); }
__device__ static inline int atomicExch(int *p, int v) { return __nvvm_atom_xchg_gen_i(p, v); }
__device__ static inline int atomicCAS(int *p, int c, int v) { return __nvvm_atom_cas_gen_i(p, c, v); }

#endif /* MIRENCODER_CUDA_SHIM_H */
