// Causal self-attention of one layer with an additive mask, forward and backward, for the
// layout ptflow's model uses: q [B·T, H·d], k and v [B·T, KV·d] (row-major, query head h reads
// kv head h / (H / KV)), mask [B, T, T] (added to the scores).
//   forward:  S = s·q·kᵀ + M,  P = softmax(S),  O = P·v
//   backward: dP = dO·vᵀ,  dS = P∘(dP − rowsum(dP∘P)),
//             dq = s·dS·k,  dk = Σ_heads s·dSᵀ·q,  dv = Σ_heads Pᵀ·dO
// The probabilities are not kept between the passes (they would be B·H·T² floats per layer):
// the forward saves each row's softmax statistics (max, 1/sum) [B, H, T, 2] and the backward
// recomputes P one block of query rows at a time from the scores, bitwise as the forward had it.
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
  // [B·T, attn_blocks(T)]: 1 where that 64-column block of the mask row holds only zeros (the
  // loops then skip adding it), filled with `rows`.
  const uint8_t* zeroBlocks = nullptr;
  // Each (batch row, query head) is split into `groups` tasks, group c taking the query blocks
  // c, c + groups, … (causal blocks grow in cost with their index: interleaved, the groups cost
  // alike). Set by attention.cc from the shape alone, so the sums do not depend on the threads.
  int64_t groups = 1;
};

// One mask row: its largest value, the smallest column range [lo, hi) holding every value
// within 1e4 of it, the largest value outside that range (−∞ if none), and whether it holds
// a NaN (then nothing is skipped, and only `top` is set besides).
struct MaskRowInfo {
  float top = 0.f;
  float outside = 0.f;
  int64_t lo = 0, hi = 0;
  bool nan = false;
};

// Columns per mask block (AttnArgs::zeroBlocks), the granularity of the row ranges too.
constexpr int64_t kAttnMaskBlock = 64;

inline int64_t attn_blocks(int64_t T) { return (T + kAttnMaskBlock - 1) / kAttnMaskBlock; }

// The summary of one mask row and its attn_blocks(T) zero-block flags.
void mask_row_info(const float* maskRow, int64_t T, MaskRowInfo* info, uint8_t* zeroBlocks);

// Row stride of the scratch matrices with T columns: T itself, a power of two for the usual
// sequence lengths, put a column of them in one cache set (column walks then missed L1 on
// every row); 16 floats more spread them and keep rows 64-byte aligned relative to each other.
inline int64_t attn_ld(int64_t T) { return T + 16; }

// Query rows the passes take at a time.
constexpr int64_t kAttnQueryBlock = 64;

// Scratch floats of one forward task: kᵀ [d, T], a query block's rows of P and its scaled queries.
inline int64_t attn_forward_scratch(int64_t T, int64_t d) { return d * attn_ld(T) + kAttnQueryBlock * (attn_ld(T) + d); }

// Scratch floats of one backward task: vᵀ and kᵀ [d, T], a query block's rows of P and of dS
// and its scaled queries.
inline int64_t attn_backward_scratch(int64_t T, int64_t d) { return 2 * d * attn_ld(T) + kAttnQueryBlock * (2 * attn_ld(T) + d); }

struct AttnImpl {
  const char* name;
  // Query-block group c of one (batch row, query head); scratch holds attn_forward_scratch(T, d)
  // floats.
  void (*forward)(const AttnArgs& a, int64_t b, int64_t h, int64_t c, float* scratch);
  // Query-block group c of one (batch row, query head): its rows of dq, and its shares of dk, dv
  // into dkh, dvh [T, d]; scratch holds attn_backward_scratch(T, d) floats.
  void (*backward)(const AttnArgs& a, int64_t b, int64_t h, int64_t c, float* dkh, float* dvh, float* scratch);
};

namespace isa_avx512 { extern const AttnImpl attn_impl; }
namespace isa_avx2 { extern const AttnImpl attn_impl; }
namespace isa_generic { extern const AttnImpl attn_impl; }

// Run on the pool with the implementation of the selected instruction set.
void attention_forward(const AttnArgs& a);
void attention_backward(const AttnArgs& a);

}  // namespace ptflow
