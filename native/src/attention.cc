// Runs attention on the pool, one task per (batch row, query head, query-block group) both ways
// (AttnArgs::groups: with 9 heads and one sequence, whole heads left one of 2 cores idle a tenth
// of each pass). In the backward pass each task writes its shares of dk and dv to its own
// buffer; a second pass sums a kv head's shares in head then group order, a fixed order.
// Uses the implementation of the instruction set the GEMM uses.
#include "attention.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

#include "dispatch.h"
#include "pool.h"

namespace ptflow {
namespace {

const AttnImpl* select() {
  const char* name = gemm_impl()->name;
  for (const AttnImpl* impl : {&isa_avx512::attn_impl, &isa_avx2::attn_impl, &isa_generic::attn_impl})
    if (impl->forward != nullptr && std::strcmp(impl->name, name) == 0) return impl;
  return &isa_generic::attn_impl;
}

struct Job {
  const AttnArgs* a;
  const AttnImpl* impl;
  float* shares = nullptr;  // backward: [B, H, groups, 2, T, d] (dk share, dv share)
};

float* scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

void forward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  const int64_t head = task / a.groups;
  job.impl->forward(a, head / a.H, head % a.H, task % a.groups, scratch(attn_forward_scratch(a.T, a.d)));
}

void backward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  const int64_t head = task / a.groups;
  float* dkh = job.shares + task * 2 * a.T * a.d;
  job.impl->backward(a, head / a.H, head % a.H, task % a.groups, dkh, dkh + a.T * a.d, scratch(attn_backward_scratch(a.T, a.d)));
}

// dk, dv of (batch row, kv head) = Σ over its query heads, in head order, and their groups, in
// group order, of their shares: each output row summed in a row buffer, written once.
void reduce_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  const int64_t b = task / a.KV, g = task % a.KV, n = a.H / a.KV * a.groups, T = a.T, d = a.d, ldkv = a.KV * d;
  const float* first = job.shares + (b * a.H + g * (a.H / a.KV)) * a.groups * 2 * T * d;  // shares [n, 2, T, d]
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(d));
  float* acc = row.data();
  for (int64_t which = 0; which < 2; which++) {
    float* out = (which == 0 ? a.dk : a.dv) + b * T * ldkv + g * d;
    for (int64_t j = 0; j < T; j++) {
      const float* s0 = first + which * T * d + j * d;
      for (int64_t c = 0; c < d; c++) acc[c] = s0[c];
      for (int64_t r = 1; r < n; r++)
        for (int64_t c = 0; c < d; c++) acc[c] += s0[r * 2 * T * d + c];
      std::memcpy(out + j * ldkv, acc, static_cast<size_t>(d) * sizeof(float));
    }
  }
}

bool threaded(const AttnArgs& a) {
  return pool_threads() > 1 && static_cast<double>(a.B) * a.H * a.T * a.T * a.d >= 1.0e6;
}

// Query-block groups per (batch row, head): at least 16 tasks where there are blocks enough,
// from the shape alone (the order of the dk, dv sums must not depend on the thread count).
int64_t query_groups(const AttnArgs& a) {
  const int64_t heads = a.B * a.H, blocks = (a.T + kAttnQueryBlock - 1) / kAttnQueryBlock;
  const int64_t want = (16 + heads - 1) / heads;
  return want < blocks ? want : blocks;
}

// Mask rows of every batch row, once for all heads: the summaries and the zero-block flags.
struct MaskSummary {
  std::vector<MaskRowInfo> rows;
  std::vector<uint8_t> zeroBlocks;
};

MaskSummary summarize_mask(const AttnArgs& a) {
  MaskSummary s;
  const int64_t n = a.B * a.T, nb = attn_blocks(a.T);
  s.rows.resize(static_cast<size_t>(n));
  s.zeroBlocks.resize(static_cast<size_t>(n * nb));
  const int64_t minRows = a.T > 0 ? 65536 / a.T + 1 : 1;  // rows worth a worker: ~64k mask values
  pool_for(n, minRows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) mask_row_info(a.mask + r * a.T, a.T, &s.rows[static_cast<size_t>(r)], &s.zeroBlocks[static_cast<size_t>(r * nb)]);
  });
  return s;
}

// Largest of m[j0, j1), NaNs ignored (−∞ if none), in 16 lanes so that the loop vectorises.
float range_max(const float* m, int64_t j0, int64_t j1) {
  constexpr int L = 16;
  float acc[L];
  for (int l = 0; l < L; l++) acc[l] = -INFINITY;
  int64_t j = j0;
  for (; j + L <= j1; j += L)
    for (int l = 0; l < L; l++) acc[l] = m[j + l] > acc[l] ? m[j + l] : acc[l];
  float top = -INFINITY;
  for (int l = 0; l < L; l++) top = acc[l] > top ? acc[l] : top;
  for (; j < j1; j++) top = m[j] > top ? m[j] : top;
  return top;
}

// Whether m[j0, j1) holds a NaN (*nan) and whether it holds only zeros (the return value).
bool block_flags(const float* m, int64_t j0, int64_t j1, bool* nan) {
  int32_t isNan = 0, nonZero = 0;
  for (int64_t j = j0; j < j1; j++) {
    isNan |= m[j] != m[j];
    nonZero |= m[j] != 0.f;
  }
  *nan = *nan || isNan != 0;
  return nonZero == 0;
}

// First column j with m[j] ≥ near (T if none), found through the block maxima.
int64_t first_near(const float* m, int64_t T, const float* blockMax, float near) {
  for (int64_t k = 0; k < attn_blocks(T); k++) {
    if (!(blockMax[k] >= near)) continue;
    int64_t j = k * kAttnMaskBlock;
    while (!(m[j] >= near)) j++;  // the block holds one
    return j;
  }
  return T;
}

// Last column j with m[j] ≥ near, where one exists.
int64_t last_near(const float* m, int64_t T, const float* blockMax, float near) {
  int64_t k = attn_blocks(T) - 1;
  while (!(blockMax[k] >= near)) k--;
  int64_t j = (k + 1) * kAttnMaskBlock < T ? (k + 1) * kAttnMaskBlock - 1 : T - 1;
  while (!(m[j] >= near)) j--;
  return j;
}

// Largest of m[j0, j1), NaNs ignored: whole blocks through their maxima, the rest value by value.
float outside_max(const float* m, const float* blockMax, int64_t j0, int64_t j1) {
  float top = -INFINITY;
  for (int64_t j = j0; j < j1;) {
    const bool whole = j % kAttnMaskBlock == 0 && j + kAttnMaskBlock <= j1;
    const float x = whole ? blockMax[j / kAttnMaskBlock] : m[j];
    top = x > top ? x : top;
    j += whole ? kAttnMaskBlock : 1;
  }
  return top;
}

}  // namespace

void mask_row_info(const float* m, int64_t T, MaskRowInfo* info, uint8_t* zeroBlocks) {
  const int64_t nb = attn_blocks(T);
  thread_local std::vector<float> blockMax;
  blockMax.resize(static_cast<size_t>(nb));
  float top = -INFINITY;
  bool nan = false;
  for (int64_t k = 0; k < nb; k++) {
    const int64_t j0 = k * kAttnMaskBlock, j1 = j0 + kAttnMaskBlock < T ? j0 + kAttnMaskBlock : T;
    blockMax[static_cast<size_t>(k)] = range_max(m, j0, j1);
    zeroBlocks[k] = block_flags(m, j0, j1, &nan) ? 1 : 0;
    top = blockMax[static_cast<size_t>(k)] > top ? blockMax[static_cast<size_t>(k)] : top;
  }
  info->top = top;
  info->nan = nan;
  if (nan) return;  // nothing is skipped: the range is not needed (nor well defined)
  const float near = top - 1.0e4f;
  const int64_t lo = first_near(m, T, blockMax.data(), near);
  const int64_t hi = lo < T ? last_near(m, T, blockMax.data(), near) + 1 : T;
  const float before = outside_max(m, blockMax.data(), 0, lo), after = outside_max(m, blockMax.data(), hi, T);
  info->outside = before > after ? before : after;
  info->lo = lo;
  info->hi = hi;
  info->nan = lo >= hi;
}

void attention_forward(const AttnArgs& a) {
  if (a.B * a.H <= 0 || a.T <= 0) return;
  const MaskSummary mask = summarize_mask(a);
  AttnArgs args = a;
  args.rows = mask.rows.data();
  args.zeroBlocks = mask.zeroBlocks.data();
  args.groups = query_groups(a);
  const int64_t tasks = a.B * a.H * args.groups;
  Job job{&args, select()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) forward_task(&job, t);
    return;
  }
  pool_run(tasks, forward_task, &job);
}

void attention_backward(const AttnArgs& a) {
  if (a.B * a.H <= 0 || a.T <= 0) return;
  const MaskSummary mask = summarize_mask(a);
  AttnArgs args = a;
  args.rows = mask.rows.data();
  args.zeroBlocks = mask.zeroBlocks.data();
  args.groups = query_groups(a);
  const int64_t tasks = a.B * a.H * args.groups;
  // Not zeroed here: every task clears its own shares first.
  std::unique_ptr<float[]> shares(new float[static_cast<size_t>(tasks * 2 * a.T * a.d)]);
  Job job{&args, select(), shares.get()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) backward_task(&job, t);
    for (int64_t t = 0; t < a.B * a.KV; t++) reduce_task(&job, t);
    return;
  }
  pool_run(tasks, backward_task, &job);
  pool_run(a.B * a.KV, reduce_task, &job);
}

}  // namespace ptflow
