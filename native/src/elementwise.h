// Element-wise binary float32 arithmetic for the cpu backend's large tensors: out = a ∘ b with
// ∘ one of + − × ÷, both operands of n elements or either one a scalar (stride 0). Threaded
// over contiguous element ranges from 64k elements (memory-bound: one core does not saturate
// the memory bus). Each result is the IEEE float32 operation alone, and subnormals are kept
// (unlike the other native kernels, these tasks run with flush-to-zero off): bitwise what the
// stock JavaScript kernels store (a float64 result of two float32 operands of + − × ÷ rounds to
// the same float32 as the float32 operation).
#pragma once
#include <cstdint>

namespace ptflow {

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

struct BinaryArgs {
  BinaryOp op = BinaryOp::Add;
  const float* a = nullptr;
  const float* b = nullptr;
  float* out = nullptr;
  int64_t n = 0;
  bool aScalar = false;
  bool bScalar = false;
};

void binary(const BinaryArgs& args);

}  // namespace ptflow
