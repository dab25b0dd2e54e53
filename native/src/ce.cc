// Runs softmax cross-entropy on the pool: rows split into contiguous blocks, with the
// implementation of the instruction set the GEMM uses (setIsa switches both).
#include "ce.h"

#include <cstring>
#include <initializer_list>

#include "dispatch.h"
#include "pool.h"

namespace ptflow {
namespace {

const CeImpl* select() {
  const char* name = gemm_impl()->name;
  for (const CeImpl* impl : {&isa_avx512::ce_impl, &isa_avx2::ce_impl, &isa_generic::ce_impl})
    if (impl->forward != nullptr && std::strcmp(impl->name, name) == 0) return impl;
  return &isa_generic::ce_impl;
}

struct Job {
  const CeArgs* a;
  void (*fn)(const CeArgs&, int64_t, int64_t);
  int64_t rows;  // per task
};

void run_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const int64_t r0 = task * job.rows;
  const int64_t r1 = r0 + job.rows < job.a->N ? r0 + job.rows : job.a->N;
  if (r0 < r1) job.fn(*job.a, r0, r1);
}

void run(const CeArgs& a, void (*fn)(const CeArgs&, int64_t, int64_t)) {
  if (a.N <= 0) return;
  const int threads = pool_threads();
  // Below ~64k elements a worker's wake-up costs more than it saves.
  if (threads <= 1 || static_cast<double>(a.N) * static_cast<double>(a.V) < 65536.0) {
    fn(a, 0, a.N);
    return;
  }
  // A few blocks per thread evens out ignored rows (which cost nothing).
  int64_t tasks = 4 * static_cast<int64_t>(threads);
  if (tasks > a.N) tasks = a.N;
  Job job{&a, fn, (a.N + tasks - 1) / tasks};
  pool_run((a.N + job.rows - 1) / job.rows, run_task, &job);
}

}  // namespace

void cross_entropy_forward(const CeArgs& a) { run(a, select()->forward); }
void cross_entropy_backward(const CeArgs& a) { run(a, select()->backward); }

}  // namespace ptflow
