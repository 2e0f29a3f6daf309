// SAXPY with a grid-stride loop so that any global size covers the whole vector.
__kernel void saxpy(const int n, const float a, __global const float *x,
                    __global float *y) {
  for (int i = get_global_id(0); i < n; i += get_global_size(0))
    y[i] = a * x[i] + y[i];
}
