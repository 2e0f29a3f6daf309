/* CUDA shim for compiling device code with clang without a CUDA toolkit.
 *
 * clang's `-nocudainc` drops the CUDA runtime wrapper, which is what normally defines the
 * execution-space keywords and pulls in the device-side math library. This header restores
 * what kernels use: the keywords as clang attributes, the builtin variables (threadIdx,
 * blockIdx, blockDim, gridDim, warpSize), clang's own CUDA math, device-function and
 * intrinsics headers (sqrtf, __expf, __mul24, __shfl_down_sync, __ldg, ...; they call
 * libdevice's __nv_* functions, left undefined with -nocudalib), atomics, printf, the vector
 * types (float2, int4, ...) with their make_ functions, dim3, and declarations of the common
 * runtime API (host code is parsed, not compiled, in a device-only build). Toolkit headers
 * that kernels include (cuda_runtime.h, curand_kernel.h, ...) are stand-ins in cuda_include/,
 * searched last. It is injected by mirencoder.pipelines.compile for language "cuda", as a
 * precompiled header where one can be built (the same bitcode, a third of the time).
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

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <__clang_cuda_math_forward_declares.h>
#include <cmath>
#include <cstdio>

#ifndef CUDA_VERSION
#define CUDA_VERSION 11000
#endif
#include <__clang_cuda_libdevice_declares.h>
#include <__clang_cuda_device_functions.h>
#include <__clang_cuda_math.h>
#include <__clang_cuda_cmath.h>

/* A few device intrinsics that small kernels commonly use. */
__device__ void __syncthreads(void) __asm__("llvm.nvvm.barrier0");

__device__ static inline int atomicAdd(int *p, int v) { return __nvvm_atom_add_gen_i(p, v); }
__device__ static inline unsigned atomicAdd(unsigned *p, unsigned v) {
  return (unsigned)__nvvm_atom_add_gen_i((int *)p, (int)v);
}
__device__ static inline float atomicAdd(float *p, float v) { return __nvvm_atom_add_gen_f(p, v); }
__device__ static inline int atomicMax(int *p, int v) { return __nvvm_atom_max_gen_i(p, v); }
__device__ static inline int atomicMin(int *p, int v) { return __nvvm_atom_min_gen_i(p, v); }
__device__ static inline int atomicExch(int *p, int v) { return __nvvm_atom_xchg_gen_i(p, v); }
__device__ static inline int atomicCAS(int *p, int c, int v) { return __nvvm_atom_cas_gen_i(p, c, v); }

extern "C" __device__ int printf(const char *, ...);

__device__ static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
  return __ullAtomicAdd(p, v);
}
__device__ static inline double atomicAdd(double *p, double v) { return __dAtomicAdd(p, v); }
__device__ static inline int atomicSub(int *p, int v) { return __iAtomicAdd(p, -v); }
__device__ static inline unsigned atomicSub(unsigned *p, unsigned v) {
  return __uAtomicAdd(p, (unsigned)-v);
}
__device__ static inline unsigned atomicMax(unsigned *p, unsigned v) { return __uAtomicMax(p, v); }
__device__ static inline unsigned atomicMin(unsigned *p, unsigned v) { return __uAtomicMin(p, v); }
__device__ static inline unsigned atomicExch(unsigned *p, unsigned v) { return __uAtomicExch(p, v); }
__device__ static inline float atomicExch(float *p, float v) { return __fAtomicExch(p, v); }
__device__ static inline unsigned atomicCAS(unsigned *p, unsigned c, unsigned v) {
  return __uAtomicCAS(p, c, v);
}
__device__ static inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long c,
                                                      unsigned long long v) {
  return __ullAtomicCAS(p, c, v);
}
__device__ static inline unsigned long long atomicExch(unsigned long long *p, unsigned long long v) {
  return __ullAtomicExch(p, v);
}
__device__ static inline int atomicAnd(int *p, int v) { return __iAtomicAnd(p, v); }
__device__ static inline unsigned atomicAnd(unsigned *p, unsigned v) { return __uAtomicAnd(p, v); }
__device__ static inline int atomicOr(int *p, int v) { return __iAtomicOr(p, v); }
__device__ static inline unsigned atomicOr(unsigned *p, unsigned v) { return __uAtomicOr(p, v); }
__device__ static inline int atomicXor(int *p, int v) { return __iAtomicXor(p, v); }
__device__ static inline unsigned atomicXor(unsigned *p, unsigned v) { return __uAtomicXor(p, v); }
__device__ static inline unsigned atomicInc(unsigned *p, unsigned v) { return __uAtomicInc(p, v); }
__device__ static inline unsigned atomicDec(unsigned *p, unsigned v) { return __uAtomicDec(p, v); }

/* CUDA's vector types and their make_ functions (layout and alignment as in vector_types.h). */
#define MIRENCODER_VEC2(T, N, A) \
  struct __attribute__((aligned(A))) N##2 { T x, y; }; typedef struct N##2 N##2; \
  __host__ __device__ static inline N##2 make_##N##2(T x, T y) { N##2 v = {x, y}; return v; }
#define MIRENCODER_VEC3(T, N) \
  struct N##3 { T x, y, z; }; typedef struct N##3 N##3; \
  __host__ __device__ static inline N##3 make_##N##3(T x, T y, T z) { N##3 v = {x, y, z}; return v; }
#define MIRENCODER_VEC4(T, N, A) \
  struct __attribute__((aligned(A))) N##4 { T x, y, z, w; }; typedef struct N##4 N##4; \
  __host__ __device__ static inline N##4 make_##N##4(T x, T y, T z, T w) { \
    N##4 v = {x, y, z, w}; return v; }
#define MIRENCODER_VEC1(T, N, A) \
  struct __attribute__((aligned(A))) N##1 { T x; }; typedef struct N##1 N##1; \
  __host__ __device__ static inline N##1 make_##N##1(T x) { N##1 v = {x}; return v; }
#define MIRENCODER_VECS(T, N, S) \
  MIRENCODER_VEC1(T, N, S) MIRENCODER_VEC2(T, N, 2 * S) MIRENCODER_VEC3(T, N) \
  MIRENCODER_VEC4(T, N, 4 * S)
MIRENCODER_VECS(signed char, char, 1)
MIRENCODER_VECS(unsigned char, uchar, 1)
MIRENCODER_VECS(short, short, 2)
MIRENCODER_VECS(unsigned short, ushort, 2)
MIRENCODER_VECS(int, int, 4)
MIRENCODER_VECS(unsigned int, uint, 4)
MIRENCODER_VECS(long, long, 8)
MIRENCODER_VECS(unsigned long, ulong, 8)
MIRENCODER_VECS(long long, longlong, 8)
MIRENCODER_VECS(unsigned long long, ulonglong, 8)
MIRENCODER_VECS(float, float, 4)
MIRENCODER_VEC1(double, double, 8)
MIRENCODER_VEC2(double, double, 16)
MIRENCODER_VEC3(double, double)
MIRENCODER_VEC4(double, double, 16)
struct dim3 {
  unsigned x, y, z;
  __host__ __device__ dim3(unsigned x = 1, unsigned y = 1, unsigned z = 1) : x(x), y(y), z(z) {}
};
typedef struct dim3 dim3;

/* The runtime API, declarations only. */
enum cudaError { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2,
                 cudaErrorInitializationError = 3, cudaErrorLaunchFailure = 4,
                 cudaErrorInvalidConfiguration = 9, cudaErrorInvalidDevice = 10,
                 cudaErrorUnknown = 999 };
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1,
                      cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3,
                      cudaMemcpyDefault = 4 };
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef unsigned long long cudaTextureObject_t;
typedef unsigned long long cudaSurfaceObject_t;
#define cudaStreamNonBlocking 0x01
__host__ __device__ cudaError_t cudaGetLastError(void);
__host__ __device__ cudaError_t cudaPeekAtLastError(void);
__host__ __device__ const char *cudaGetErrorString(cudaError_t error);
__host__ __device__ cudaError_t cudaDeviceSynchronize(void);
__host__ __device__ cudaError_t cudaMalloc(void **ptr, size_t size);
__host__ __device__ cudaError_t cudaFree(void *ptr);
__host__ cudaError_t cudaDeviceReset(void);
__host__ cudaError_t cudaSetDevice(int device);
__host__ cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind);
__host__ cudaError_t cudaMemset(void *ptr, int value, size_t count);
__host__ cudaError_t cudaMallocHost(void **ptr, size_t size);
__host__ cudaError_t cudaFreeHost(void *ptr);
__host__ cudaError_t cudaEventCreate(cudaEvent_t *event);
__host__ cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = 0);
__host__ cudaError_t cudaEventSynchronize(cudaEvent_t event);
__host__ cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
__host__ cudaError_t cudaEventDestroy(cudaEvent_t event);
__host__ cudaError_t cudaStreamCreate(cudaStream_t *stream);
__host__ cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
__host__ cudaError_t cudaStreamSynchronize(cudaStream_t stream);
__host__ cudaError_t cudaStreamDestroy(cudaStream_t stream);
template <class T> __host__ cudaError_t cudaMalloc(T **ptr, size_t size) {
  return cudaMalloc((void **)ptr, size);
}
template <class T> __host__ cudaError_t cudaMemcpyToSymbol(const T &symbol, const void *src,
    size_t count, size_t offset = 0, cudaMemcpyKind kind = cudaMemcpyHostToDevice);
template <class T> __host__ cudaError_t cudaMemcpyFromSymbol(void *dst, const T &symbol,
    size_t count, size_t offset = 0, cudaMemcpyKind kind = cudaMemcpyDeviceToHost);

typedef uint32_t cuuint32_t;
typedef uint64_t cuuint64_t;
#include <__clang_cuda_intrinsics.h>

/* cuRAND's device API (LS-CAT kernels use it without including it). */
#include <curand_kernel.h>

#endif
