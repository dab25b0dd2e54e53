// Σ x_i² of a float32 array in float64, for the global gradient norm (clip_grad_norm). The
// summation order is fixed by the data alone, never by the thread count: the array is cut into
// blocks of kSumSqBlock elements; inside a block, lane l (of kSumSqLanes) sums the elements
// i ≡ l (mod kSumSqLanes) in order, the lanes are added in order, then the block's tail
// elements; the block sums are added in block order. Each float32 square is exact in float64,
// so FMA contraction cannot change a result: the value is the same on every instruction set and
// thread count, and equals a plain float64 reimplementation of this order. Subnormal inputs
// count (IEEE mode on every thread). Threaded over blocks.
#pragma once
#include <cstdint>

namespace ptflow {

constexpr int64_t kSumSqBlock = 16384;
constexpr int kSumSqLanes = 16;

double sum_squares(const float* x, int64_t n);

}  // namespace ptflow
