// One process-wide worker pool shared by every native kernel. Workers wait passively
// (condition variable); the calling thread takes part in each job. One job runs at a
// time: a caller that finds the pool busy (another worker_thread or backend inside the
// same process) runs its job alone on its own thread instead of waiting.
#pragma once
#include <cstdint>

namespace ptflow {

using TaskFn = void (*)(void* ctx, int64_t task);

// Runs fn(ctx, 0..ntasks-1) across the pool and the calling thread; returns when all ran.
void pool_run(int64_t ntasks, TaskFn fn, void* ctx);
// Total threads used by a job, the caller included (>= 1).
int pool_threads();
void pool_set_threads(int n);

// Runs range(i0, i1) over [0, n) in chunks of whole cache lines, two per thread; on the calling
// thread alone when the pool has one thread or n < min_parallel (a worker would not pay off).
template <typename Range>
void pool_for(int64_t n, int64_t min_parallel, const Range& range) {
  if (n <= 0) return;
  const int threads = pool_threads();
  if (threads <= 1 || n < min_parallel) {
    range(int64_t{0}, n);
    return;
  }
  const int64_t tasks = 2 * static_cast<int64_t>(threads);
  int64_t chunk = (n + tasks - 1) / tasks;
  chunk = (chunk + 63) / 64 * 64;
  struct Ctx {
    const Range* range;
    int64_t n, chunk;
  } ctx{&range, n, chunk};
  pool_run((n + chunk - 1) / chunk, [](void* p, int64_t task) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    const int64_t i0 = task * c.chunk;
    const int64_t i1 = i0 + c.chunk < c.n ? i0 + c.chunk : c.n;
    if (i0 < i1) (*c.range)(i0, i1);
  }, &ctx);
}

}  // namespace ptflow
