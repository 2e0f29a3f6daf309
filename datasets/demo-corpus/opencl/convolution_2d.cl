// 2-D convolution with a small square filter and clamp-to-edge borders.
__kernel void convolve2d(__global const float *image, __constant float *filter,
                         __global float *out, const int width, const int height,
                         const int radius) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= width || y >= height)
    return;
  int size = 2 * radius + 1;
  float acc = 0.0f;
  for (int fy = -radius; fy <= radius; ++fy)
    for (int fx = -radius; fx <= radius; ++fx) {
      int sx = clamp(x + fx, 0, width - 1);
      int sy = clamp(y + fy, 0, height - 1);
      acc += image[sy * width + sx] * filter[(fy + radius) * size + fx + radius];
    }
  out[y * width + x] = acc;
}
