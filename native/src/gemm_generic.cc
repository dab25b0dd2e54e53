// Portable GEMM built with the compiler's baseline flags (SSE2 on x86-64, NEON on
// arm64) through GCC/Clang vector extensions: 6 x 8 register tile of 4-wide vectors.
#include "gemm.h"
#include <cstring>

namespace {
typedef float v4 __attribute__((vector_size(16)));
struct V {
  using T = v4;
  static constexpr int W = 4;
  static inline T zero() { return T{0.f, 0.f, 0.f, 0.f}; }
  static inline T load(const float* p) {
    T v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static inline void store(float* p, T v) { std::memcpy(p, &v, sizeof(v)); }
  static inline T set1(float x) { return T{x, x, x, x}; }
  static inline T fma(T a, T b, T c) { return c + a * b; }
  static inline T add(T a, T b) { return a + b; }
};
constexpr int MR = 6, NR = 8;
constexpr int64_t KC = 256, MC = 96, NC = 2048;
}  // namespace
#define ISA_NS isa_generic
#define ISA_NAME "generic"
#include "gemm_impl.inc"
