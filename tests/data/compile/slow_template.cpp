// Exponential template instantiation: A<N, M> instantiates two distinct A<N-1, ...>, so
// clang works (and allocates) for a very long time. Used for the timeout and memory tests.
template <int N, int M> struct A { enum { v = A<N - 1, M + 1>::v + A<N - 1, 2 * M + 1>::v }; };
template <int M> struct A<0, M> { enum { v = M & 1 }; };
int x = A<40, 0>::v;
