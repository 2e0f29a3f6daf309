/* Q16.16 fixed-point helpers shared by fixed_point.c (a header, not a program item). */
#ifndef DEMO_FIXED_POINT_H
#define DEMO_FIXED_POINT_H
#include <stdint.h>

typedef int32_t fix16;
#define FIX16_ONE (1 << 16)

static inline fix16 fix16_from_int(int v) { return (fix16)(v * FIX16_ONE); }
static inline fix16 fix16_mul(fix16 a, fix16 b) { return (fix16)(((int64_t)a * b) >> 16); }
static inline fix16 fix16_div(fix16 a, fix16 b) { return (fix16)(((int64_t)a << 16) / b); }
#endif
