// GEMM for AVX-512F (compiled with -mavx512f -mfma): 12 x 32 register tile.
#include "gemm.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace {
struct V {
  using T = __m512;
  static constexpr int W = 16;
  static inline T zero() { return _mm512_setzero_ps(); }
  static inline T load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static inline T set1(float x) { return _mm512_set1_ps(x); }
  static inline T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
};
constexpr int MR = 12, NR = 32;
constexpr int64_t KC = 256, MC = 192, NC = 2048;
}  // namespace
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
#include "gemm_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const GemmImpl impl = {"avx512", 0, 0, nullptr}; } }
#endif
