/* Stand-in: included by clang's __clang_cuda_intrinsics.h for sm_70; nothing is needed. */
