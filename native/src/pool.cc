// Process-wide passive-waiting thread pool (see pool.h).
#include "pool.h"

#include "denormals.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sched.h>
#endif

namespace ptflow {
namespace {

int default_threads() {
  const char* env = std::getenv("PTFLOW_NATIVE_THREADS");
  if (env != nullptr) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n >= 1 ? static_cast<int>(n) : 1;
}

class Pool {
 public:
  Pool() : threads_(default_threads()) {}

  int threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

  void set_threads(int n) {
    if (n < 1) n = 1;
    if (n > 256) n = 256;
    std::lock_guard<std::mutex> run(run_mu_);  // never resize under a running job
    std::lock_guard<std::mutex> lock(mu_);
    threads_ = n;
  }

  void run(int64_t ntasks, TaskFn fn, void* ctx) {
    if (ntasks <= 0) return;
    std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
    int helpers = 0;
    if (run.owns_lock()) {
      std::lock_guard<std::mutex> lock(mu_);
      helpers = threads_ - 1;
      if (helpers > ntasks - 1) helpers = static_cast<int>(ntasks - 1);
    }
    if (helpers <= 0) {
      for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
      return;
    }
    ensure_workers(helpers);
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = fn;
      ctx_ = ctx;
      ntasks_ = ntasks;
      next_.store(0, std::memory_order_relaxed);
      done_ = 0;
      joined_ = 0;
      allowed_ = helpers;
      open_ = true;
      generation_++;
    }
    work_cv_.notify_all();
    int64_t mine = 0;
    for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < ntasks;) {
      fn(ctx, t);
      mine++;
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_ += mine;
    done_cv_.wait(lock, [&] { return done_ == ntasks_ && active_ == 0; });
    open_ = false;  // late wakers must not join a finished job
  }

 private:
  void ensure_workers(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    while (static_cast<int>(spawned_) < n) {
      const int index = spawned_++;
      std::thread([this, index] { worker(index); }).detach();
    }
  }

  void worker(int index) {
    flush_denormals_on_this_thread();
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return open_ && generation_ != seen && joined_ < allowed_ && index < allowed_; });
      seen = generation_;
      joined_++;
      active_++;
      const TaskFn fn = fn_;
      void* ctx = ctx_;
      const int64_t ntasks = ntasks_;
      lock.unlock();
      int64_t mine = 0;
      for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < ntasks;) {
        fn(ctx, t);
        mine++;
      }
      lock.lock();
      done_ += mine;
      active_--;
      if (active_ == 0 && done_ == ntasks_) done_cv_.notify_all();
    }
  }

  std::mutex run_mu_;  // held by the caller owning the pool for one job
  std::mutex mu_;      // guards everything below
  std::condition_variable work_cv_, done_cv_;
  int threads_;
  int spawned_ = 0;
  uint64_t generation_ = 0;
  bool open_ = false;
  int allowed_ = 0, joined_ = 0, active_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t ntasks_ = 0, done_ = 0;
  std::atomic<int64_t> next_{0};
};

// Never destroyed: detached workers may still be blocked on it at process exit.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void pool_run(int64_t ntasks, TaskFn fn, void* ctx) { pool().run(ntasks, fn, ctx); }
int pool_threads() { return pool().threads(); }
void pool_set_threads(int n) { pool().set_threads(n); }

}  // namespace ptflow
