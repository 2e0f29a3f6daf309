/* Bit manipulation: population count, bit reversal, power-of-two rounding, Gray code. */
#include <stdint.h>

int popcount32(uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (int)((x * 0x01010101u) >> 24);
}

uint32_t reverse_bits(uint32_t x) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = (r << 1) | (x & 1u);
    x >>= 1;
  }
  return r;
}

uint32_t next_pow2(uint32_t x) {
  if (x == 0)
    return 1;
  --x;
  x |= x >> 1;
  x |= x >> 2;
  x |= x >> 4;
  x |= x >> 8;
  x |= x >> 16;
  return x + 1;
}

uint32_t to_gray(uint32_t x) { return x ^ (x >> 1); }

uint32_t from_gray(uint32_t g) {
  for (uint32_t shift = 1; shift < 32; shift <<= 1)
    g ^= g >> shift;
  return g;
}
