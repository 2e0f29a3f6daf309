/* Stand-in for the CUDA toolkit header: the mirencoder CUDA shim (cuda_shim.h) declares what
 * device code uses from it. */
