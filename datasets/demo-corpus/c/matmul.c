/* Dense matrix multiply, naive and cache-blocked, on row-major matrices. */
#define BLOCK 32

void matmul_naive(int n, const float *a, const float *b, float *c) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int k = 0; k < n; ++k)
        acc += a[i * n + k] * b[k * n + j];
      c[i * n + j] = acc;
    }
}

void matmul_blocked(int n, const float *a, const float *b, float *c) {
  for (int i = 0; i < n * n; ++i)
    c[i] = 0.0f;
  for (int ii = 0; ii < n; ii += BLOCK)
    for (int kk = 0; kk < n; kk += BLOCK)
      for (int jj = 0; jj < n; jj += BLOCK)
        for (int i = ii; i < ii + BLOCK && i < n; ++i)
          for (int k = kk; k < kk + BLOCK && k < n; ++k) {
            float aik = a[i * n + k];
            for (int j = jj; j < jj + BLOCK && j < n; ++j)
              c[i * n + j] += aik * b[k * n + j];
          }
}
