/* Fixed-point polynomial evaluation and square root (includes a header from its folder). */
#include "fixed_point.h"

fix16 horner(const fix16 *coeffs, int degree, fix16 x) {
  fix16 acc = coeffs[degree];
  for (int i = degree - 1; i >= 0; --i)
    acc = fix16_mul(acc, x) + coeffs[i];
  return acc;
}

fix16 fix16_sqrt(fix16 v) {
  if (v <= 0)
    return 0;
  fix16 x = v > FIX16_ONE ? v / 2 : FIX16_ONE;
  for (int i = 0; i < 20; ++i)
    x = (x + fix16_div(v, x)) / 2;
  return x;
}
