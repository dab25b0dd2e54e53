// Element-wise binary arithmetic (see elementwise.h). Built with the baseline flags: the loops
// are memory-bound, SSE2/NEON vectorisation is enough.
#include "elementwise.h"

#include "denormals.h"
#include "pool.h"

namespace ptflow {
namespace {

template <typename F>
void loop(const BinaryArgs& x, int64_t i0, int64_t i1, F f) {
  const float* __restrict a = x.a;
  const float* __restrict b = x.b;
  float* __restrict out = x.out;
  if (x.aScalar) {
    const float s = a[0];
    for (int64_t i = i0; i < i1; i++) out[i] = f(s, b[i]);
  } else if (x.bScalar) {
    const float s = b[0];
    for (int64_t i = i0; i < i1; i++) out[i] = f(a[i], s);
  } else {
    for (int64_t i = i0; i < i1; i++) out[i] = f(a[i], b[i]);
  }
}

void range(const BinaryArgs& x, int64_t i0, int64_t i1) {
  // Flush-to-zero and denormals-are-zero off while a range runs (pool workers keep them on for
  // the other kernels), restored afterwards.
  DenormalGuard keep(Subnormals::Keep);
  switch (x.op) {
    case BinaryOp::Add: loop(x, i0, i1, [](float p, float q) { return p + q; }); break;
    case BinaryOp::Sub: loop(x, i0, i1, [](float p, float q) { return p - q; }); break;
    case BinaryOp::Mul: loop(x, i0, i1, [](float p, float q) { return p * q; }); break;
    case BinaryOp::Div: loop(x, i0, i1, [](float p, float q) { return p / q; }); break;
  }
}

}  // namespace

void binary(const BinaryArgs& a) {
  pool_for(a.n, int64_t{1} << 16, [&](int64_t i0, int64_t i1) { range(a, i0, i1); });
}

}  // namespace ptflow
