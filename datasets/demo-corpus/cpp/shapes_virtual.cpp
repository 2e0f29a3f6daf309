// Class hierarchy with virtual dispatch: area and perimeter of shapes.
struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual double perimeter() const = 0;
};

struct Circle : Shape {
  double r;
  explicit Circle(double radius) : r(radius) {}
  double area() const override { return 3.141592653589793 * r * r; }
  double perimeter() const override { return 2.0 * 3.141592653589793 * r; }
};

struct Rect : Shape {
  double w, h;
  Rect(double width, double height) : w(width), h(height) {}
  double area() const override { return w * h; }
  double perimeter() const override { return 2.0 * (w + h); }
};

double total_area(const Shape *const *shapes, int n) {
  double total = 0.0;
  for (int i = 0; i < n; ++i) total += shapes[i]->area();
  return total;
}

double compactness(const Shape &s) {
  double p = s.perimeter();
  return p > 0 ? 4.0 * 3.141592653589793 * s.area() / (p * p) : 0.0;
}

double demo() {
  Circle c(1.5);
  Rect r(2.0, 3.0);
  const Shape *all[] = {&c, &r};
  return total_area(all, 2) + compactness(c);
}
