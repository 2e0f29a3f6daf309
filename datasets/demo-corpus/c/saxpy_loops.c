/* Simple loops over arrays: saxpy, scaling and a strided copy. */
#include <stddef.h>

void saxpy(size_t n, float a, const float *x, float *y) {
  for (size_t i = 0; i < n; ++i)
    y[i] = a * x[i] + y[i];
}

void scale_in_place(size_t n, double factor, double *v) {
  for (size_t i = 0; i < n; ++i)
    v[i] *= factor;
}

void strided_copy(size_t n, size_t stride, const int *src, int *dst) {
  for (size_t i = 0, j = 0; i < n; ++i, j += stride)
    dst[i] = src[j];
}

int count_above(size_t n, const float *v, float threshold) {
  int count = 0;
  for (size_t i = 0; i < n; ++i)
    if (v[i] > threshold)
      ++count;
  return count;
}
