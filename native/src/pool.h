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

}  // namespace ptflow
