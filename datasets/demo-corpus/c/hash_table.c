/* Open-addressing hash table (linear probing) from int keys to int values. */
#include <stdint.h>
#include <stdlib.h>

#define EMPTY_KEY INT32_MIN

struct table {
  int32_t *keys;
  int32_t *values;
  uint32_t capacity; /* a power of two */
};

static uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

int table_init(struct table *t, uint32_t capacity) {
  t->keys = malloc(capacity * sizeof *t->keys);
  t->values = malloc(capacity * sizeof *t->values);
  if (!t->keys || !t->values)
    return -1;
  for (uint32_t i = 0; i < capacity; ++i)
    t->keys[i] = EMPTY_KEY;
  t->capacity = capacity;
  return 0;
}

int table_put(struct table *t, int32_t key, int32_t value) {
  uint32_t mask = t->capacity - 1;
  for (uint32_t i = hash32((uint32_t)key) & mask, n = 0; n < t->capacity; i = (i + 1) & mask, ++n) {
    if (t->keys[i] == EMPTY_KEY || t->keys[i] == key) {
      t->keys[i] = key;
      t->values[i] = value;
      return 0;
    }
  }
  return -1;
}

int table_get(const struct table *t, int32_t key, int32_t *value) {
  uint32_t mask = t->capacity - 1;
  for (uint32_t i = hash32((uint32_t)key) & mask, n = 0; n < t->capacity; i = (i + 1) & mask, ++n) {
    if (t->keys[i] == EMPTY_KEY)
      return 0;
    if (t->keys[i] == key) {
      *value = t->values[i];
      return 1;
    }
  }
  return 0;
}
