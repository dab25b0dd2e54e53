// The GEMM problem description shared by the N-API glue, the dispatcher and the
// per-instruction-set implementations: C[b] = act(op(A)[b] · op(B)[b] + bias).
#pragma once
#include <cstdint>

namespace ptflow {

enum Activation : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3 };
enum BiasMode : int { kNoBias = 0, kBiasPerColumn = 1, kBiasScalar = 2 };

struct GemmArgs {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  const float* a = nullptr;
  const float* b = nullptr;
  float* c = nullptr;
  // op(A)(i, k) = a[i * rsA + k * csA]; op(B)(k, j) = b[k * rsB + j * csB];
  // C(i, j) = c[i * ldc + j].
  int64_t rsA = 0, csA = 0, rsB = 0, csB = 0, ldc = 0;
  // Element offset of batch item t: strideA * t (or batchOffsets[2t] when given), etc.
  int64_t strideA = 0, strideB = 0, strideC = 0;
  const int64_t* batchOffsets = nullptr;  // [aOff0, bOff0, aOff1, bOff1, ...] or null
  const float* bias = nullptr;
  int biasMode = kNoBias;
  int act = kLinear;
  float alpha = 0.f;  // leaky relu slope
};

// One instruction-set implementation: computes the block C[t][m0:m1, n0:n1] over the
// whole K range, bias and activation included. Thread-safe (per-thread pack buffers).
struct GemmImpl {
  const char* name;
  int mr, nr;
  void (*tile)(const GemmArgs& g, int64_t t, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
};

namespace isa_avx512 { extern const GemmImpl impl; }
namespace isa_avx2 { extern const GemmImpl impl; }
namespace isa_generic { extern const GemmImpl impl; }

// Applies bias and activation to one finished tile of C (used by every implementation).
inline void epilogue(const GemmArgs& g, float* c, int64_t ldc, int64_t rows, int64_t cols, int64_t col0) {
  if (g.biasMode == kNoBias && g.act == kLinear) return;
  for (int64_t i = 0; i < rows; i++) {
    float* row = c + i * ldc;
    if (g.biasMode == kBiasPerColumn) {
      const float* bias = g.bias + col0;
      for (int64_t j = 0; j < cols; j++) row[j] += bias[j];
    } else if (g.biasMode == kBiasScalar) {
      const float bias = g.bias[0];
      for (int64_t j = 0; j < cols; j++) row[j] += bias;
    }
    switch (g.act) {
      case kRelu:
        for (int64_t j = 0; j < cols; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
        break;
      case kRelu6:
        for (int64_t j = 0; j < cols; j++) row[j] = row[j] > 0.f ? (row[j] < 6.f ? row[j] : 6.f) : 0.f;
        break;
      case kLeakyRelu: {
        const float alpha = g.alpha;
        for (int64_t j = 0; j < cols; j++) row[j] = row[j] > 0.f ? row[j] : alpha * row[j];
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace ptflow
