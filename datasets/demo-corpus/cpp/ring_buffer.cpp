// A RAII ring buffer with move semantics and a moving-average filter on top.
#include <cstddef>
#include <utility>

class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity) : data_(new float[capacity]), cap_(capacity) {}
  ~RingBuffer() { delete[] data_; }
  RingBuffer(RingBuffer &&o) noexcept : data_(o.data_), cap_(o.cap_), head_(o.head_), size_(o.size_) {
    o.data_ = nullptr;
    o.cap_ = o.size_ = o.head_ = 0;
  }
  RingBuffer &operator=(RingBuffer &&o) noexcept {
    std::swap(data_, o.data_);
    std::swap(cap_, o.cap_);
    std::swap(head_, o.head_);
    std::swap(size_, o.size_);
    return *this;
  }
  RingBuffer(const RingBuffer &) = delete;

  void push(float x) {
    data_[(head_ + size_) % cap_] = x;
    if (size_ < cap_) ++size_;
    else head_ = (head_ + 1) % cap_;
  }
  std::size_t size() const { return size_; }
  float at(std::size_t i) const { return data_[(head_ + i) % cap_]; }

 private:
  float *data_;
  std::size_t cap_, head_ = 0, size_ = 0;
};

float moving_average(const float *samples, std::size_t n, std::size_t window, float *out) {
  RingBuffer buf(window);
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (buf.size() == window) sum -= buf.at(0);
    buf.push(samples[i]);
    sum += samples[i];
    out[i] = sum / static_cast<float>(buf.size());
  }
  return n ? out[n - 1] : 0.0f;
}
