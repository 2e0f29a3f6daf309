// A growable stack template without the STL, used to evaluate postfix expressions.
#include <cstdlib>

template <typename T> class Stack {
 public:
  Stack() = default;
  ~Stack() { std::free(data_); }
  Stack(const Stack &) = delete;
  Stack &operator=(const Stack &) = delete;

  bool push(const T &x) {
    if (size_ == cap_) {
      int cap = cap_ ? cap_ * 2 : 8;
      T *grown = static_cast<T *>(std::realloc(data_, sizeof(T) * cap));
      if (!grown) return false;
      data_ = grown;
      cap_ = cap;
    }
    data_[size_++] = x;
    return true;
  }
  T pop() { return data_[--size_]; }
  bool empty() const { return size_ == 0; }

 private:
  T *data_ = nullptr;
  int size_ = 0, cap_ = 0;
};

// Evaluates single-digit postfix expressions such as "34+2*".
long eval_postfix(const char *expr) {
  Stack<long> st;
  for (; *expr; ++expr) {
    char c = *expr;
    if (c >= '0' && c <= '9') {
      st.push(c - '0');
      continue;
    }
    long b = st.pop(), a = st.pop();
    st.push(c == '+' ? a + b : c == '-' ? a - b : c == '*' ? a * b : (b ? a / b : 0));
  }
  return st.empty() ? 0 : st.pop();
}
