// Causal self-attention of one layer with an additive mask, forward and backward, for the
// layout ptflow's model uses: q [B·T, H·d], k and v [B·T, KV·d] (row-major, query head h reads
// kv head h / (H / KV)), mask [B, T, T] (added to the scores).
//   forward:  S = s·q·kᵀ + M,  P = softmax(S),  O = P·v
//   backward: dP = dO·vᵀ,  dS = P∘(dP − rowsum(dP∘P)),
//             dq = s·dS·k,  dk = Σ_heads s·dSᵀ·q,  dv = Σ_heads Pᵀ·dO
// The probabilities are not kept between the passes (they would be B·H·T² floats per layer):
// the forward saves each row's softmax statistics (max, 1/sum) [B, H, T, 2] and the backward
// recomputes P one query row at a time from the scores, bitwise as the forward had it.
#pragma once
#include <cstdint>

namespace ptflow {

struct AttnArgs {
  int64_t B = 0, T = 0, H = 0, KV = 0, d = 0;
  float scale = 1.f;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* mask = nullptr;
  float* out = nullptr;     // forward: [B·T, H·d]
  float* stats = nullptr;   // [B, H, T, 2] (row max, 1/row sum); forward: written; backward: read
  const float* dout = nullptr;  // backward: [B·T, H·d]
  float* dq = nullptr;      // backward: [B·T, H·d]
  float* dk = nullptr;      // backward: [B·T, KV·d]
  float* dv = nullptr;      // backward: [B·T, KV·d]
  // Per (batch row, query row) summary of the mask row, shared by every head (attention.cc):
  // [B·T] entries, filled before the tasks run.
  const struct MaskRowInfo* rows = nullptr;
};

// One mask row: its largest value, the smallest column range [lo, hi) holding every value
// within 1e4 of it, the largest value outside that range (−∞ if none), and whether it holds
// a NaN (then nothing is skipped).
struct MaskRowInfo {
  float top = 0.f;
  float outside = 0.f;
  int64_t lo = 0, hi = 0;
  bool nan = false;
};

void mask_row_info(const float* maskRow, int64_t T, MaskRowInfo* info);

// Row stride of the scratch matrices with T columns: T itself, a power of two for the usual
// sequence lengths, put a column of them in one cache set (column walks then missed L1 on
// every row); 16 floats more spread them and keep rows 64-byte aligned relative to each other.
inline int64_t attn_ld(int64_t T) { return T + 16; }

struct AttnImpl {
  const char* name;
  // One (batch row, query head); scratch holds d·attn_ld(T) + 4·(T + d) floats.
  void (*forward)(const AttnArgs& a, int64_t b, int64_t h, float* scratch);
  // One (batch row, query head): dq, and the head's shares of dk, dv into dkh, dvh [T, d];
  // scratch holds (2·d + 2·T)·attn_ld(T) + 4·(2T + d) floats.
  void (*backward)(const AttnArgs& a, int64_t b, int64_t h, float* dkh, float* dvh, float* scratch);
};

namespace isa_avx512 { extern const AttnImpl attn_impl; }
namespace isa_avx2 { extern const AttnImpl attn_impl; }
namespace isa_generic { extern const AttnImpl attn_impl; }

// Run on the pool with the implementation of the selected instruction set.
void attention_forward(const AttnArgs& a);
void attention_backward(const AttnArgs& a);

}  // namespace ptflow
