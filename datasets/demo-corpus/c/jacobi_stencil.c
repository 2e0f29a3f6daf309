/* Five-point Jacobi stencil on a 2-D grid with fixed boundaries. */
#include <math.h>

double jacobi_step(int rows, int cols, const double *in, double *out) {
  double change = 0.0;
  for (int r = 1; r < rows - 1; ++r)
    for (int c = 1; c < cols - 1; ++c) {
      double v = 0.25 * (in[(r - 1) * cols + c] + in[(r + 1) * cols + c] +
                         in[r * cols + c - 1] + in[r * cols + c + 1]);
      change = fmax(change, fabs(v - in[r * cols + c]));
      out[r * cols + c] = v;
    }
  return change;
}

int jacobi_solve(int rows, int cols, double *a, double *b, double tol, int max_iter) {
  for (int it = 0; it < max_iter; ++it) {
    double d = jacobi_step(rows, cols, a, b);
    double *t = a;
    a = b;
    b = t;
    if (d < tol)
      return it + 1;
  }
  return max_iter;
}
