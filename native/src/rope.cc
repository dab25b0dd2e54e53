// Rotary position embedding (see rope.h), baseline flags: memory-bound, so the compiler's
// SSE2/NEON vectorisation is as fast as wider vectors would be.
#include "rope.h"

#include "denormals.h"
#include "pool.h"

namespace ptflow {
namespace {

void positions(const RopeArgs& a, int64_t p0, int64_t p1) {
  // IEEE subnormals on every thread (pool workers flush them for the other kernels): the values
  // of the one-thread kernel, which runs on the JavaScript thread's default mode.
  DenormalGuard keep(Subnormals::Keep);
  const int64_t d = a.d, half = d / 2;
  for (int64_t p = p0; p < p1; p++) {
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

}  // namespace

void rope(const RopeArgs& a) {
  const int64_t perPosition = a.heads * a.d;
  const int64_t minPositions = perPosition > 0 ? ((int64_t{1} << 16) + perPosition - 1) / perPosition : 0;
  pool_for(a.n, minPositions, [&](int64_t p0, int64_t p1) { positions(a, p0, p1); });
}

}  // namespace ptflow
