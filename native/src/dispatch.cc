// Chooses the GEMM implementation for this CPU at load time and splits one batched
// GEMM into tasks for the pool (batch items, then row or column blocks).
#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "pool.h"

namespace ptflow {
namespace {

bool cpu_has(const char* isa) {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return std::strcmp(isa, "generic") == 0;
}

const GemmImpl* const kAll[] = {&isa_avx512::impl, &isa_avx2::impl, &isa_generic::impl};

const GemmImpl* best() {
  for (const GemmImpl* impl : kAll)
    if (impl->tile != nullptr && cpu_has(impl->name)) return impl;
  return &isa_generic::impl;
}

std::atomic<const GemmImpl*> g_impl{nullptr};

struct Job {
  const GemmArgs* g;
  const GemmImpl* impl;
  int64_t perBatch;  // tasks per batch item
  bool splitRows;
  int64_t chunk;     // rows or columns per task
};

void run_task(void* ctx, int64_t task) {
  const Job& job = *static_cast<const Job*>(ctx);
  const GemmArgs& g = *job.g;
  const int64_t t = task / job.perBatch;
  const int64_t piece = task % job.perBatch;
  if (job.splitRows) {
    const int64_t m0 = piece * job.chunk;
    const int64_t m1 = m0 + job.chunk < g.M ? m0 + job.chunk : g.M;
    if (m0 < m1) job.impl->tile(g, t, m0, m1, 0, g.N);
  } else {
    const int64_t n0 = piece * job.chunk;
    const int64_t n1 = n0 + job.chunk < g.N ? n0 + job.chunk : g.N;
    if (n0 < n1) job.impl->tile(g, t, 0, g.M, n0, n1);
  }
}

}  // namespace

const GemmImpl* gemm_impl() {
  const GemmImpl* current = g_impl.load(std::memory_order_acquire);
  if (current == nullptr) {
    const GemmImpl* chosen = best();
    const char* forced = std::getenv("PTFLOW_NATIVE_ISA");
    if (forced != nullptr && *forced != '\0') {
      for (const GemmImpl* impl : kAll)
        if (impl->tile != nullptr && std::strcmp(impl->name, forced) == 0 && cpu_has(impl->name)) chosen = impl;
    }
    g_impl.store(chosen, std::memory_order_release);
    current = chosen;
  }
  return current;
}

bool gemm_set_impl(const char* name) {
  for (const GemmImpl* impl : kAll) {
    if (impl->tile != nullptr && std::strcmp(impl->name, name) == 0 && cpu_has(impl->name)) {
      g_impl.store(impl, std::memory_order_release);
      return true;
    }
  }
  return false;
}

int gemm_available(const char** names, int max) {
  int n = 0;
  for (const GemmImpl* impl : kAll)
    if (impl->tile != nullptr && cpu_has(impl->name) && n < max) names[n++] = impl->name;
  return n;
}

void gemm(const GemmArgs& g) {
  if (g.batch <= 0 || g.M <= 0 || g.N <= 0) return;
  const GemmImpl* impl = gemm_impl();
  const int threads = pool_threads();
  const double flops = 2.0 * static_cast<double>(g.batch) * g.M * g.N * (g.K > 0 ? g.K : 1);
  Job job{&g, impl, 1, true, g.M};
  // Small problems: the wake-up of a sleeping worker (~10-50 us) costs more than it saves.
  if (threads <= 1 || flops < 2.0e6) {
    for (int64_t t = 0; t < g.batch; t++) impl->tile(g, t, 0, g.M, 0, g.N);
    return;
  }
  const int64_t target = 2 * static_cast<int64_t>(threads);
  if (g.batch < target) {
    // Split the larger of M and N (the other operand is then packed once per piece).
    job.splitRows = g.M >= g.N;
    const int64_t dim = job.splitRows ? g.M : g.N;
    const int64_t unit = job.splitRows ? impl->mr : impl->nr;
    int64_t pieces = (target + g.batch - 1) / g.batch;
    const int64_t minChunk = 4 * unit;  // keep packing overhead small
    const int64_t maxPieces = (dim + minChunk - 1) / minChunk;
    if (pieces > maxPieces) pieces = maxPieces;
    if (pieces < 1) pieces = 1;
    int64_t chunk = (dim + pieces - 1) / pieces;
    chunk = (chunk + unit - 1) / unit * unit;
    job.chunk = chunk;
    job.perBatch = (dim + chunk - 1) / chunk;
  }
  pool_run(g.batch * job.perBatch, run_task, &job);
}

}  // namespace ptflow
