/* Reductions: sum, dot product, min/max and a compensated (Kahan) sum. */
#include <float.h>

double sum(const double *v, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i)
    s += v[i];
  return s;
}

double dot(const double *a, const double *b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

void min_max(const float *v, int n, float *lo, float *hi) {
  float mn = FLT_MAX, mx = -FLT_MAX;
  for (int i = 0; i < n; ++i) {
    if (v[i] < mn) mn = v[i];
    if (v[i] > mx) mx = v[i];
  }
  *lo = mn;
  *hi = mx;
}

double kahan_sum(const double *v, int n) {
  double s = 0.0, c = 0.0;
  for (int i = 0; i < n; ++i) {
    double y = v[i] - c;
    double t = s + y;
    c = (t - s) - y;
    s = t;
  }
  return s;
}
