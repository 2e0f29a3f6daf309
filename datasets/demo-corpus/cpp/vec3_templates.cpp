// A small fixed-size vector template with arithmetic operators and a norm.
#include <cmath>

template <typename T, int N> struct Vec {
  T v[N];
  Vec operator+(const Vec &o) const {
    Vec r;
    for (int i = 0; i < N; ++i) r.v[i] = v[i] + o.v[i];
    return r;
  }
  Vec operator*(T s) const {
    Vec r;
    for (int i = 0; i < N; ++i) r.v[i] = v[i] * s;
    return r;
  }
  T dot(const Vec &o) const {
    T s = T();
    for (int i = 0; i < N; ++i) s += v[i] * o.v[i];
    return s;
  }
  T norm() const { return std::sqrt(dot(*this)); }
};

using Vec3f = Vec<float, 3>;
using Vec4d = Vec<double, 4>;

float project_length(const Vec3f &a, const Vec3f &b) { return a.dot(b) / b.norm(); }

Vec4d lerp(const Vec4d &a, const Vec4d &b, double t) { return a * (1.0 - t) + b * t; }
