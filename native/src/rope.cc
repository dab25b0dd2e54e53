// Rotary position embedding (see rope.h), baseline flags: memory-bound, so the compiler's
// SSE2/NEON vectorisation is as fast as wider vectors would be.
#include "rope.h"

namespace ptflow {

void rope(const RopeArgs& a) {
  const int64_t d = a.d, half = d / 2;
  for (int64_t p = 0; p < a.n; p++) {
    const float* __restrict c = a.cos + p * d;
    const float* __restrict s = a.sin + p * d;
    for (int64_t h = 0; h < a.heads; h++) {
      const float* __restrict x = a.x + (p * a.heads + h) * d;
      float* __restrict y = a.y + (p * a.heads + h) * d;
      if (!a.inverse) {
        for (int64_t i = 0; i < half; i++) y[i] = x[i] * c[i] + (-x[i + half]) * s[i];
        for (int64_t i = half; i < d; i++) y[i] = x[i] * c[i] + x[i - half] * s[i];
      } else {
        for (int64_t i = 0; i < half; i++) y[i] = x[i] * c[i] + x[i + half] * s[i + half];
        for (int64_t i = half; i < d; i++) y[i] = x[i] * c[i] + (-(x[i - half] * s[i - half]));
      }
    }
  }
}

}  // namespace ptflow
