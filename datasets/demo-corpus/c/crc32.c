/* Table-driven CRC-32 (IEEE polynomial, reflected). */
#include <stddef.h>
#include <stdint.h>

static uint32_t table[256];

void crc32_init(void) {
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

uint32_t crc32_update(uint32_t crc, const unsigned char *data, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i)
    crc = table[(crc ^ data[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}
