// The SwiGLU gate of a Llama MLP, y = silu(g)·u = g·σ(g)·u, forward and backward in one pass
// each over [n] elements, so neither σ(g) nor silu(g) is ever a tensor:
//   forward:  y  = (g·σ(g))·u
//   backward: dg = (dy·u)·(σ(g)·(1 + g·(1 − σ(g)))),  du = dy·(g·σ(g))
// σ(g) = 1 / (1 + exp(−g)) with a polynomial exp (the attention's; exact 0 below the normal
// range). Threaded over contiguous element ranges for large tensors; results do not depend on
// the thread count (every element is computed alone).
#pragma once
#include <cstdint>

namespace ptflow {

struct SwigluArgs {
  int64_t n = 0;
  const float* g = nullptr;
  const float* u = nullptr;
  float* y = nullptr;         // forward
  const float* dy = nullptr;  // backward
  float* dg = nullptr;        // backward
  float* du = nullptr;        // backward
};

void swiglu_forward(const SwigluArgs& a);
void swiglu_backward(const SwigluArgs& a);

}  // namespace ptflow
