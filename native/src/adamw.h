// Fused AdamW update of one parameter tensor (torch.optim.AdamW, single-tensor path), shared by
// the N-API glue, the dispatcher and the per-instruction-set implementations:
//   m' = m + (g − m)·(1 − β1)
//   v' = β2·v + (1 − β2)·g²
//   p' = p·decay − stepSize · m' / (√v' / bc2Sqrt + ε)
// All in float32, one pass over the four arrays (the stock path makes ~10). An output may be
// its own input (in place, element by element); no other overlap.
#pragma once
#include <cstdint>

namespace ptflow {

struct AdamWArgs {
  int64_t n = 0;
  const float* p = nullptr;
  const float* g = nullptr;
  const float* m = nullptr;
  const float* v = nullptr;
  float* pOut = nullptr;
  float* mOut = nullptr;
  float* vOut = nullptr;
  float oneMinusBeta1 = 0.1f, beta2 = 0.999f, oneMinusBeta2 = 0.001f;
  float eps = 1e-8f, bc2Sqrt = 1.f, negStepSize = 0.f, decay = 1.f;
};

struct AdamWImpl {
  const char* name;
  void (*update)(const AdamWArgs& a, int64_t i0, int64_t i1);
};

namespace isa_avx512 { extern const AdamWImpl adamw_impl; }
namespace isa_avx2 { extern const AdamWImpl adamw_impl; }
namespace isa_generic { extern const AdamWImpl adamw_impl; }

// Runs on the pool with the implementation of the selected instruction set.
void adamw_update(const AdamWArgs& a);

}  // namespace ptflow
