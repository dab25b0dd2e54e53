// Sum of squares in float64 (see sumsq.h), baseline flags: memory-bound.
#include "sumsq.h"

#include <vector>

#include "denormals.h"
#include "pool.h"

namespace ptflow {
namespace {

double block_sum(const float* __restrict x, int64_t n) {
  double acc[kSumSqLanes] = {0.0};
  int64_t i = 0;
  for (; i + kSumSqLanes <= n; i += kSumSqLanes)
    for (int l = 0; l < kSumSqLanes; l++) {
      const double v = x[i + l];
      acc[l] += v * v;
    }
  double s = 0.0;
  for (int l = 0; l < kSumSqLanes; l++) s += acc[l];
  for (; i < n; i++) {
    const double v = x[i];
    s += v * v;
  }
  return s;
}

}  // namespace

double sum_squares(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  const int64_t blocks = (n + kSumSqBlock - 1) / kSumSqBlock;
  std::vector<double> partial(static_cast<size_t>(blocks));
  struct Ctx {
    const float* x;
    int64_t n;
    double* partial;
  } ctx{x, n, partial.data()};
  pool_run(blocks, [](void* p, int64_t b) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    DenormalGuard keep(Subnormals::Keep);  // workers flush by default; a float32 subnormal squared is a normal float64
    const int64_t i0 = b * kSumSqBlock;
    const int64_t len = c.n - i0 < kSumSqBlock ? c.n - i0 : kSumSqBlock;
    c.partial[b] = block_sum(c.x + i0, len);
  }, &ctx);
  double total = 0.0;
  for (int64_t b = 0; b < blocks; b++) total += partial[static_cast<size_t>(b)];
  return total;
}

}  // namespace ptflow
