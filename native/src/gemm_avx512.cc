// GEMM for AVX-512F (compiled with -mavx512f -mfma): 12 x 32 register tile; row-major A
// panels are packed through an in-register 16 x 16 transpose.
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
static_assert(MR == 12, "pack_a_rows12 packs 12-row panels");

// Packs 12 full rows (row stride rs) x kc depths into dst[k * 12 + r], 16 depths at a time
// through an in-register 16 x 16 transpose (rows 12..15 are zero and never stored).
static inline void pack_a_rows12(const float* src, int64_t rs, int64_t kc, float* __restrict dst) {
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 r[16], t[16];
    for (int i = 0; i < 12; i++) r[i] = _mm512_loadu_ps(src + i * rs + k);
    for (int i = 12; i < 16; i++) r[i] = _mm512_setzero_ps();
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
      r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int h = 0; h < 16; h += 8)
      for (int i = 0; i < 4; i++) {
        t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
        t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
      }
    for (int i = 0; i < 8; i++) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    float* d = dst + k * 12;
    for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(d + i * 12, 0x0FFF, r[i]);
  }
  for (; k < kc; k++)
    for (int i = 0; i < 12; i++) dst[k * 12 + i] = src[i * rs + k];
}
}  // namespace
#define PTFLOW_PACK_A_ROWS pack_a_rows12
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
#include "gemm_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const GemmImpl impl = {"avx512", 0, 0, nullptr}; } }
#endif
