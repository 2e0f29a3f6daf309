// Dynamic programming: longest common subsequence, 0/1 knapsack and edit distance.
#include <algorithm>
#include <string>
#include <vector>

int lcs_length(const std::string &a, const std::string &b) {
  std::vector<int> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  for (char ca : a) {
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = ca == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

int knapsack(const std::vector<int> &weight, const std::vector<int> &value, int capacity) {
  std::vector<int> best(capacity + 1, 0);
  for (size_t i = 0; i < weight.size(); ++i)
    for (int c = capacity; c >= weight[i]; --c)
      best[c] = std::max(best[c], best[c - weight[i]] + value[i]);
  return best[capacity];
}

int edit_distance(const std::string &a, const std::string &b) {
  std::vector<int> d(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) d[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diag = d[0];
    d[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int up = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return d[b.size()];
}
