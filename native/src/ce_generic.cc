// Softmax cross-entropy rows in portable scalar code (baseline flags; any architecture).
#include "ce.h"
#include <cmath>
#include <limits>

namespace {
struct V {
  using T = float;
  static constexpr int W = 1;
  static inline T zero() { return 0.f; }
  static inline T load(const float* p) { return *p; }
  static inline void store(float* p, T v) { *p = v; }
  static inline T set1(float x) { return x; }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }
  static inline T max(T a, T b) { return b > a ? b : a; }
  static inline float hsum(T a) { return a; }
  static inline float hmax(T a) { return a; }
  static inline T exp(T x) { return std::exp(x); }
};
}  // namespace
#define ISA_NS isa_generic
#define ISA_NAME "generic"
#include "ce_impl.inc"
