// RMSNorm over rows (Hugging Face's LlamaRMSNorm in float32), forward and backward, shared by
// the N-API glue and the per-instruction-set implementations:
//   forward:  r_i = 1 / √(mean_j x_ij² + ε),  y_ij = x_ij · r_i · w_j
//   backward: g = dY∘w,  dx_ij = r_i·g_ij − x_ij·r_i³·mean_j(g_ij·x_ij),  dw_j = Σ_i dY_ij·x_ij·r_i
// Threaded from 64k elements: the forward pass over rows; the backward pass as one task for dw
// (all columns, rows in order) beside tasks for dx over rows. Every value is computed by the same
// loop in the same order whatever the thread count, so results are bitwise those of one thread. Sums use 16 fixed partial accumulators, so the vector width does not change the
// summation order (FMA contraction may still differ).
#pragma once
#include <cstdint>

namespace ptflow {

struct RmsNormArgs {
  int64_t n = 0, d = 0;
  float eps = 1e-6f;
  const float* x = nullptr;
  const float* w = nullptr;
  float* y = nullptr;   // forward
  float* r = nullptr;   // forward: written; backward: read
  const float* dy = nullptr;  // backward
  float* dx = nullptr;        // backward
  float* dw = nullptr;        // backward (may be null: no weight gradient)
};

// Rows below which a job stays on the calling thread (about 64k elements: less does not pay
// for waking a worker).
inline int64_t rmsnorm_min_parallel_rows(int64_t d) { return d > 0 ? ((int64_t{1} << 16) + d - 1) / d : 0; }

struct RmsNormImpl {
  const char* name;
  void (*forward)(const RmsNormArgs& a);
  void (*backward)(const RmsNormArgs& a);
};

namespace isa_avx512 { extern const RmsNormImpl rmsnorm_impl; }
namespace isa_avx2 { extern const RmsNormImpl rmsnorm_impl; }
namespace isa_generic { extern const RmsNormImpl rmsnorm_impl; }

// With the implementation of the instruction set the GEMM uses.
void rmsnorm_forward(const RmsNormArgs& a);
void rmsnorm_backward(const RmsNormArgs& a);

}  // namespace ptflow
