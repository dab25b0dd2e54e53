// SwiGLU forward and backward (see swiglu.h). Built with the baseline flags: the loops are
// memory-bound (2–3 streams in, 1–2 out), so the compiler's SSE2/NEON vectorisation of the
// polynomial exp is enough.
#include "swiglu.h"

#include <cstring>

#include "pool.h"

// The clamps and the final select in exp_approx are if-converted (so the loops vectorise at the
// baseline SSE2 flags) only without -ftrapping-math; nothing here relies on FP exceptions.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace ptflow {
namespace {

// Cephes expf (as in attention_impl.inc): x = n·ln2 + r, degree-5 polynomial times 2ⁿ. n is
// rounded with the 1.5·2²³ trick, not rintf: at the baseline flags (SSE2) rintf is a library
// call per element and the loop does not vectorise.
inline float exp_approx(float x0) {
  float x = x0 > 88.f ? 88.f : x0;
  x = x < -87.3365447505531f ? -87.3365447505531f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = (p * r) * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) * (1 << 23);
  float s;
  std::memcpy(&s, &bits, sizeof s);
  const float e = y * s;  // computed unconditionally, so the select below vectorises
  return x0 < -87.3365447505531f ? 0.f : e;
}

inline float sigmoid(float g) { return 1.f / (1.f + exp_approx(-g)); }

void forward_range(const SwigluArgs& a, int64_t i0, int64_t i1) {
  const float* __restrict g = a.g;
  const float* __restrict u = a.u;
  float* __restrict y = a.y;
  for (int64_t i = i0; i < i1; i++) y[i] = (g[i] * sigmoid(g[i])) * u[i];
}

void backward_range(const SwigluArgs& a, int64_t i0, int64_t i1) {
  const float* __restrict g = a.g;
  const float* __restrict u = a.u;
  const float* __restrict dy = a.dy;
  float* __restrict dg = a.dg;
  float* __restrict du = a.du;
  for (int64_t i = i0; i < i1; i++) {
    const float s = sigmoid(g[i]);
    dg[i] = (dy[i] * u[i]) * (s * (1.f + g[i] * (1.f - s)));
    du[i] = dy[i] * (g[i] * s);
  }
}

void run(const SwigluArgs& a, void (*range)(const SwigluArgs&, int64_t, int64_t)) {
  // ~20 flops per element with the exp: a worker pays off from ~64k elements.
  pool_for(a.n, int64_t{1} << 16, [&](int64_t i0, int64_t i1) { range(a, i0, i1); });
}

}  // namespace

void swiglu_forward(const SwigluArgs& a) { run(a, forward_range); }
void swiglu_backward(const SwigluArgs& a) { run(a, backward_range); }

}  // namespace ptflow
