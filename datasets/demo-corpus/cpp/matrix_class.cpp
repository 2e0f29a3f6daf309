// A small dense matrix class with operator overloading and Gaussian elimination.
#include <cmath>
#include <vector>

class Matrix {
 public:
  Matrix(int rows, int cols) : r_(rows), c_(cols), a_(rows * cols, 0.0) {}
  double &operator()(int i, int j) { return a_[i * c_ + j]; }
  double operator()(int i, int j) const { return a_[i * c_ + j]; }
  int rows() const { return r_; }
  int cols() const { return c_; }

  Matrix operator*(const Matrix &o) const {
    Matrix m(r_, o.c_);
    for (int i = 0; i < r_; ++i)
      for (int k = 0; k < c_; ++k)
        for (int j = 0; j < o.c_; ++j) m(i, j) += (*this)(i, k) * o(k, j);
    return m;
  }

 private:
  int r_, c_;
  std::vector<double> a_;
};

// Determinant by elimination with partial pivoting.
double determinant(Matrix m) {
  int n = m.rows();
  double det = 1.0;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::fabs(m(r, col)) > std::fabs(m(pivot, col))) pivot = r;
    if (m(pivot, col) == 0.0) return 0.0;
    if (pivot != col) {
      for (int j = 0; j < n; ++j) std::swap(m(col, j), m(pivot, j));
      det = -det;
    }
    det *= m(col, col);
    for (int r = col + 1; r < n; ++r) {
      double f = m(r, col) / m(col, col);
      for (int j = col; j < n; ++j) m(r, j) -= f * m(col, j);
    }
  }
  return det;
}
