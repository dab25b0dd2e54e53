// GEMM for AVX2 + FMA (compiled with -mavx2 -mfma): 6 x 16 register tile.
#include "gemm.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace {
struct V {
  using T = __m256;
  static constexpr int W = 8;
  static inline T zero() { return _mm256_setzero_ps(); }
  static inline T load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static inline T set1(float x) { return _mm256_set1_ps(x); }
  static inline T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static inline T add(T a, T b) { return _mm256_add_ps(a, b); }
};
constexpr int MR = 6, NR = 16;
constexpr int64_t KC = 256, MC = 96, NC = 2048;
}  // namespace
#define ISA_NS isa_avx2
#define ISA_NAME "avx2"
#include "gemm_impl.inc"
#else
namespace ptflow { namespace isa_avx2 { extern const GemmImpl impl = {"avx2", 0, 0, nullptr}; } }
#endif
