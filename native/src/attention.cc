// Runs attention on the pool, one task per (batch row, query head) both ways (B·H tasks: with
// B·KV tasks, one sequence's 3 kv heads left one of 2 cores idle a third of the backward pass).
// In the backward pass each query head writes its shares of dk and dv to its own buffer; a
// second pass sums a kv head's shares in head order, exactly as the sequential sum did.
// Uses the implementation of the instruction set the GEMM uses.
#include "attention.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
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
  float* shares = nullptr;  // backward: [B, H, 2, T, d] (dk share, dv share)
};

float* scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

void forward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  job.impl->forward(a, task / a.H, task % a.H, scratch(a.d * attn_ld(a.T) + 4 * (a.T + a.d)));
}

void backward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  float* dkh = job.shares + task * 2 * a.T * a.d;
  job.impl->backward(a, task / a.H, task % a.H, dkh, dkh + a.T * a.d, scratch((2 * a.d + 2 * a.T) * attn_ld(a.T) + 4 * (2 * a.T + a.d)));
}

// dk, dv of (batch row, kv head) = Σ over its query heads, in head order, of their shares.
void reduce_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  const int64_t b = task / a.KV, g = task % a.KV, group = a.H / a.KV, T = a.T, d = a.d, ldkv = a.KV * d;
  for (int64_t which = 0; which < 2; which++) {
    float* out = (which == 0 ? a.dk : a.dv) + b * T * ldkv + g * d;
    for (int64_t r = 0; r < group; r++) {
      const float* share = job.shares + ((b * a.H + g * group + r) * 2 + which) * T * d;
      for (int64_t j = 0; j < T; j++)
        for (int64_t c = 0; c < d; c++) out[j * ldkv + c] = r == 0 ? share[j * d + c] : out[j * ldkv + c] + share[j * d + c];
    }
  }
}

bool threaded(const AttnArgs& a) {
  return pool_threads() > 1 && static_cast<double>(a.B) * a.H * a.T * a.T * a.d >= 1.0e6;
}

// Mask rows of every batch row, once for all heads.
std::vector<MaskRowInfo> mask_rows(const AttnArgs& a) {
  std::vector<MaskRowInfo> rows(static_cast<size_t>(a.B * a.T));
  for (int64_t r = 0; r < a.B * a.T; r++) mask_row_info(a.mask + r * a.T, a.T, &rows[static_cast<size_t>(r)]);
  return rows;
}

}  // namespace

void mask_row_info(const float* m, int64_t T, MaskRowInfo* info) {
  float top = -INFINITY;
  bool nan = false;
  for (int64_t j = 0; j < T; j++) {
    nan |= m[j] != m[j];
    top = m[j] > top ? m[j] : top;
  }
  int64_t lo = 0, hi = T;
  const float near = top - 1.0e4f;
  while (lo < T && !(m[lo] >= near)) lo++;
  while (hi > lo && !(m[hi - 1] >= near)) hi--;
  float outside = -INFINITY;
  for (int64_t j = 0; j < lo; j++) outside = m[j] > outside ? m[j] : outside;
  for (int64_t j = hi; j < T; j++) outside = m[j] > outside ? m[j] : outside;
  info->top = top;
  info->outside = outside;
  info->lo = lo;
  info->hi = hi;
  info->nan = nan || lo >= hi;
}

void attention_forward(const AttnArgs& a) {
  const int64_t tasks = a.B * a.H;
  if (tasks <= 0 || a.T <= 0) return;
  const std::vector<MaskRowInfo> rows = mask_rows(a);
  AttnArgs args = a;
  args.rows = rows.data();
  Job job{&args, select()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) forward_task(&job, t);
    return;
  }
  pool_run(tasks, forward_task, &job);
}

void attention_backward(const AttnArgs& a) {
  const int64_t tasks = a.B * a.H;
  if (tasks <= 0 || a.T <= 0) return;
  std::vector<float> shares(static_cast<size_t>(tasks * 2 * a.T * a.d));
  const std::vector<MaskRowInfo> rows = mask_rows(a);
  AttnArgs args = a;
  args.rows = rows.data();
  Job job{&args, select(), shares.data()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) backward_task(&job, t);
    for (int64_t t = 0; t < a.B * a.KV; t++) reduce_task(&job, t);
    return;
  }
  pool_run(tasks, backward_task, &job);
  pool_run(a.B * a.KV, reduce_task, &job);
}

}  // namespace ptflow
