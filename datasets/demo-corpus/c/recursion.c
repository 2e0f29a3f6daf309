/* Recursive functions: memoised Fibonacci, Ackermann, Towers of Hanoi, GCD. */

static long long memo[92];

long long fib(int n) {
  if (n < 2)
    return n;
  if (memo[n])
    return memo[n];
  return memo[n] = fib(n - 1) + fib(n - 2);
}

unsigned ackermann(unsigned m, unsigned n) {
  if (m == 0)
    return n + 1;
  if (n == 0)
    return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

int hanoi_moves(int disks, int from, int to, int via) {
  if (disks == 0)
    return 0;
  return hanoi_moves(disks - 1, from, via, to) + 1 + hanoi_moves(disks - 1, via, to, from);
}

unsigned gcd(unsigned a, unsigned b) { return b == 0 ? a : gcd(b, a % b); }
