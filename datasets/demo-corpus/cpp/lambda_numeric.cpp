// Lambdas with std::accumulate, std::transform and std::inner_product.
#include <algorithm>
#include <numeric>
#include <vector>

double mean_square(const std::vector<double> &v) {
  if (v.empty()) return 0.0;
  double s = std::accumulate(v.begin(), v.end(), 0.0, [](double acc, double x) { return acc + x * x; });
  return s / static_cast<double>(v.size());
}

std::vector<float> softplus(const std::vector<float> &v) {
  std::vector<float> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](float x) { return x > 20.0f ? x : __builtin_logf(1.0f + __builtin_expf(x)); });
  return out;
}

double cosine(const std::vector<double> &a, const std::vector<double> &b) {
  double ab = std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  double aa = std::inner_product(a.begin(), a.end(), a.begin(), 0.0);
  double bb = std::inner_product(b.begin(), b.end(), b.begin(), 0.0);
  return aa > 0 && bb > 0 ? ab / __builtin_sqrt(aa * bb) : 0.0;
}

int count_if_between(const std::vector<int> &v, int lo, int hi) {
  return static_cast<int>(std::count_if(v.begin(), v.end(), [lo, hi](int x) { return x >= lo && x < hi; }));
}
