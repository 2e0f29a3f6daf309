/* Byte histogram and its cumulative distribution. */
#include <stddef.h>

void byte_histogram(const unsigned char *data, size_t n, unsigned counts[256]) {
  for (int b = 0; b < 256; ++b)
    counts[b] = 0;
  for (size_t i = 0; i < n; ++i)
    counts[data[i]]++;
}

void cumulative(const unsigned counts[256], double cdf[256]) {
  unsigned long total = 0;
  for (int b = 0; b < 256; ++b)
    total += counts[b];
  unsigned long running = 0;
  for (int b = 0; b < 256; ++b) {
    running += counts[b];
    cdf[b] = total ? (double)running / (double)total : 0.0;
  }
}

int most_common_byte(const unsigned counts[256]) {
  int best = 0;
  for (int b = 1; b < 256; ++b)
    if (counts[b] > counts[best])
      best = b;
  return best;
}
