// Runs attention on the pool: forward tasks are (batch row, query head) pairs, backward tasks
// (batch row, kv head) pairs (a kv head's dk/dv gather all of its query heads, so no two tasks
// write the same rows). Uses the implementation of the instruction set the GEMM uses.
#include "attention.h"

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
};

float* scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

void forward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  job.impl->forward(a, task / a.H, task % a.H, scratch(a.d * a.T + 2 * a.d + a.T));
}

void backward_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const AttnArgs& a = *job.a;
  job.impl->backward(a, task / a.KV, task % a.KV, scratch(2 * a.d * a.T + 2 * a.T * a.T + 2 * a.T + a.d));
}

bool threaded(const AttnArgs& a) {
  return pool_threads() > 1 && static_cast<double>(a.B) * a.H * a.T * a.T * a.d >= 1.0e6;
}

}  // namespace

void attention_forward(const AttnArgs& a) {
  const int64_t tasks = a.B * a.H;
  if (tasks <= 0 || a.T <= 0) return;
  Job job{&a, select()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) forward_task(&job, t);
    return;
  }
  pool_run(tasks, forward_task, &job);
}

void attention_backward(const AttnArgs& a) {
  const int64_t tasks = a.B * a.KV;
  if (tasks <= 0 || a.T <= 0) return;
  Job job{&a, select()};
  if (!threaded(a)) {
    for (int64_t t = 0; t < tasks; t++) backward_task(&job, t);
    return;
  }
  pool_run(tasks, backward_task, &job);
}

}  // namespace ptflow
