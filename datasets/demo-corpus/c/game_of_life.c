/* One generation of Conway's Game of Life on a toroidal grid. */

static int neighbours(const unsigned char *g, int rows, int cols, int r, int c) {
  int n = 0;
  for (int dr = -1; dr <= 1; ++dr)
    for (int dc = -1; dc <= 1; ++dc) {
      if (!dr && !dc)
        continue;
      int rr = (r + dr + rows) % rows, cc = (c + dc + cols) % cols;
      n += g[rr * cols + cc];
    }
  return n;
}

int life_step(const unsigned char *g, unsigned char *next, int rows, int cols) {
  int alive = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      int n = neighbours(g, rows, cols, r, c);
      unsigned char cell = g[r * cols + c];
      next[r * cols + c] = (unsigned char)(n == 3 || (cell && n == 2));
      alive += next[r * cols + c];
    }
  return alive;
}
