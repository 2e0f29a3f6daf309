// STL algorithms: sort, unique, binary search and partition on std::vector.
#include <algorithm>
#include <vector>

std::vector<int> sorted_unique(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool contains(const std::vector<int> &sorted, int x) {
  return std::binary_search(sorted.begin(), sorted.end(), x);
}

int split_even_odd(std::vector<int> &v) {
  auto mid = std::stable_partition(v.begin(), v.end(), [](int x) { return x % 2 == 0; });
  return static_cast<int>(mid - v.begin());
}

int median_of(std::vector<int> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + v.size() / 2;
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}
