// Fused softmax cross-entropy over rows of logits (the vocabulary axis), shared by the
// N-API glue, the dispatcher and the per-instruction-set implementations.
//   forward:  loss[i] = logsumexp(z[i,:]) - z[i, t[i]], lse[i] = logsumexp(z[i,:]);
//             rows with t[i] == ignoreIndex get loss 0 and lse 0 and are not read.
//   backward: dz[i,j] = (exp(z[i,j] - lse[i]) - [j == t[i]]) * up[i * upStride];
//             ignored rows get 0.
#pragma once
#include <cstdint>

namespace ptflow {

struct CeArgs {
  int64_t N = 0, V = 0;
  const float* logits = nullptr;  // [N, V], row-major, contiguous
  const int32_t* targets = nullptr;
  int32_t ignoreIndex = -100;
  float* loss = nullptr;  // forward: [N]
  float* lse = nullptr;   // forward: written; backward: read
  const float* up = nullptr;  // backward: upstream gradient, up[i * upStride]
  int64_t upStride = 1;
  float* dlogits = nullptr;  // backward: [N, V]
};

// One instruction-set implementation over rows [r0, r1).
struct CeImpl {
  const char* name;
  void (*forward)(const CeArgs& a, int64_t r0, int64_t r1);
  void (*backward)(const CeArgs& a, int64_t r0, int64_t r1);
};

namespace isa_avx512 { extern const CeImpl ce_impl; }
namespace isa_avx2 { extern const CeImpl ce_impl; }
namespace isa_generic { extern const CeImpl ce_impl; }

// Run on the pool with the implementation of the selected instruction set (the GEMM's).
void cross_entropy_forward(const CeArgs& a);
void cross_entropy_backward(const CeArgs& a);

}  // namespace ptflow
