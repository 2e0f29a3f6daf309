/* Stand-in for the CUDA toolkit header: see curand_kernel.h. */
#include "curand_kernel.h"
