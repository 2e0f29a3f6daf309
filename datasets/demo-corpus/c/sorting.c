/* Insertion sort, quicksort (Lomuto partition) and a merge of two sorted runs. */

void insertion_sort(int *v, int n) {
  for (int i = 1; i < n; ++i) {
    int key = v[i], j = i - 1;
    while (j >= 0 && v[j] > key) {
      v[j + 1] = v[j];
      --j;
    }
    v[j + 1] = key;
  }
}

static void swap(int *a, int *b) {
  int t = *a;
  *a = *b;
  *b = t;
}

static int partition(int *v, int lo, int hi) {
  int pivot = v[hi], i = lo;
  for (int j = lo; j < hi; ++j)
    if (v[j] < pivot)
      swap(&v[i++], &v[j]);
  swap(&v[i], &v[hi]);
  return i;
}

void quick_sort(int *v, int lo, int hi) {
  while (lo < hi) {
    int p = partition(v, lo, hi);
    if (p - lo < hi - p) {
      quick_sort(v, lo, p - 1);
      lo = p + 1;
    } else {
      quick_sort(v, p + 1, hi);
      hi = p - 1;
    }
  }
}

void merge_runs(const int *a, int na, const int *b, int nb, int *out) {
  int i = 0, j = 0, k = 0;
  while (i < na && j < nb)
    out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
  while (i < na) out[k++] = a[i++];
  while (j < nb) out[k++] = b[j++];
}
