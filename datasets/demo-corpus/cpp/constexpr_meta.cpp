// Compile-time computation: constexpr functions, template recursion and type traits.
#include <cstdint>
#include <type_traits>

constexpr std::uint64_t factorial(unsigned n) { return n < 2 ? 1 : n * factorial(n - 1); }

template <unsigned N> struct Fib {
  static constexpr std::uint64_t value = Fib<N - 1>::value + Fib<N - 2>::value;
};
template <> struct Fib<0> { static constexpr std::uint64_t value = 0; };
template <> struct Fib<1> { static constexpr std::uint64_t value = 1; };

// Integers test before adding (no overflow); floating point adds first. C++14 tag dispatch.
template <typename T> constexpr T clamp_add(T a, T b, T hi, std::true_type) {
  return a + b > hi ? hi : a + b;
}
template <typename T> constexpr T clamp_add(T a, T b, T hi, std::false_type) {
  return (b > hi - a) ? hi : a + b;
}
template <typename T> constexpr T clamp_add(T a, T b, T hi) {
  return clamp_add(a, b, hi, typename std::is_floating_point<T>::type());
}

static_assert(factorial(10) == 3628800, "factorial");
static_assert(Fib<20>::value == 6765, "fibonacci");

std::uint64_t table_lookup(unsigned i) {
  static constexpr std::uint64_t table[] = {factorial(5), Fib<30>::value, factorial(12)};
  return table[i % 3];
}

int saturating(int a, int b) { return clamp_add(a, b, 1000); }
double saturating(double a, double b) { return clamp_add(a, b, 1.0); }
