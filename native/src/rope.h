// Rotary position embedding in Hugging Face's rotate-half convention over x [n, heads, d] with
// tables cos, sin [n, d] (one row per position, shared by the heads):
//   forward:  y_i = x_i·c_i + rot(x)_i·s_i,   rot(x) = [−x₂, x₁]
//   inverse:  y_i = x_i·c_i + rotᵀ(x∘s)_i,    rotᵀ(z) = [z₂, −z₁]   (the forward's gradient)
// Threaded over positions from 64k elements (each output element is one expression of its own
// inputs, so any split gives the one-thread values); plain loops the compiler vectorises.
#pragma once
#include <cstdint>

namespace ptflow {

struct RopeArgs {
  int64_t n = 0, heads = 0, d = 0;  // d even
  const float* x = nullptr;
  const float* cos = nullptr;
  const float* sin = nullptr;
  float* y = nullptr;
  bool inverse = false;
};

void rope(const RopeArgs& a);

}  // namespace ptflow
