// Runs the fused AdamW update on the pool: contiguous element ranges, with the
// implementation of the instruction set the GEMM uses.
#include "adamw.h"

#include <cstring>
#include <initializer_list>

#include "dispatch.h"
#include "pool.h"

namespace ptflow {
namespace {

const AdamWImpl* select() {
  const char* name = gemm_impl()->name;
  for (const AdamWImpl* impl : {&isa_avx512::adamw_impl, &isa_avx2::adamw_impl, &isa_generic::adamw_impl})
    if (impl->update != nullptr && std::strcmp(impl->name, name) == 0) return impl;
  return &isa_generic::adamw_impl;
}

struct Job {
  const AdamWArgs* a;
  const AdamWImpl* impl;
  int64_t chunk;
};

void run_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const int64_t i0 = task * job.chunk;
  const int64_t i1 = i0 + job.chunk < job.a->n ? i0 + job.chunk : job.a->n;
  if (i0 < i1) job.impl->update(*job.a, i0, i1);
}

}  // namespace

void adamw_update(const AdamWArgs& a) {
  if (a.n <= 0) return;
  const AdamWImpl* impl = select();
  const int threads = pool_threads();
  // Memory-bound: a worker pays off only for large tensors.
  if (threads <= 1 || a.n < (1 << 18)) {
    impl->update(a, 0, a.n);
    return;
  }
  const int64_t tasks = 2 * static_cast<int64_t>(threads);
  int64_t chunk = (a.n + tasks - 1) / tasks;
  chunk = (chunk + 63) / 64 * 64;  // whole cache lines per task
  Job job{&a, impl, chunk};
  pool_run((a.n + chunk - 1) / chunk, run_task, &job);
}

}  // namespace ptflow
