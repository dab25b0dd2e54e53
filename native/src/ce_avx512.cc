// Softmax cross-entropy rows for AVX-512F (compiled with -mavx512f -mfma).
#include "ce.h"
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
  static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
  static inline T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static inline T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static inline T max(T a, T b) { return _mm512_max_ps(a, b); }
  static inline float hsum(T a) { return _mm512_reduce_add_ps(a); }
  static inline float hmax(T a) { return _mm512_reduce_max_ps(a); }
  // Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-5 polynomial, scaled by 2^n.
  // Clamped at 88 (min/max take the operand order that lets NaN through), 0 below -87.3.
  static inline T exp(T x0) {
    const T lo = _mm512_set1_ps(-87.3365447505531f);
    T x = _mm512_min_ps(_mm512_set1_ps(88.0f), x0);
    x = _mm512_max_ps(lo, x);
    const T n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    T p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const T y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.f));
    // Exact 0 below the normal range (as expf; no subnormals); "not less than" keeps NaN lanes.
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x0, lo, _CMP_NLT_UQ), _mm512_scalef_ps(y, n));
  }
};
}  // namespace
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
#include "ce_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const CeImpl ce_impl = {"avx512", nullptr, nullptr}; } }
#endif
