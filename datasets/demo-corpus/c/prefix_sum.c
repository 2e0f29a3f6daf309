/* Inclusive and exclusive prefix sums, and a segmented scan. */

void inclusive_scan(const int *in, int *out, int n) {
  int acc = 0;
  for (int i = 0; i < n; ++i) {
    acc += in[i];
    out[i] = acc;
  }
}

void exclusive_scan(const int *in, int *out, int n) {
  int acc = 0;
  for (int i = 0; i < n; ++i) {
    out[i] = acc;
    acc += in[i];
  }
}

void segmented_scan(const int *in, const unsigned char *head, int *out, int n) {
  int acc = 0;
  for (int i = 0; i < n; ++i) {
    acc = head[i] ? in[i] : acc + in[i];
    out[i] = acc;
  }
}
