// See mpi_comm.h. Every MPI call except MPI_Abort runs on the communication thread below.
#include "mpi_comm.h"
#include "output_drain.h"

#include <dlfcn.h>
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <sched.h>
#include <time.h>
#include <unistd.h>

namespace ptflow_mpi {
namespace {

enum class State { None, Starting, Up, Failed, Done };

// Never destroyed: at process exit the communication thread still waits on cv, and glibc's
// pthread_cond_destroy (run by a static destructor) would wait for it for ever.
std::mutex& mu = *new std::mutex;
std::condition_variable& cv = *new std::condition_variable;
std::deque<Op>& queue = *new std::deque<Op>;  // guarded by mu
State state = State::None;      // guarded by mu
bool finalizeRequested = false; // guarded by mu
WorldInfo world;                // written once before state becomes Up
std::string initError;          // written once before state becomes Failed
std::string finalizeError;      // written once before state becomes Done
std::atomic<size_t> chunk{16u << 20};
std::atomic<bool> spinWait{false};
std::atomic<long long> timeoutLimitMs{30LL * 60 * 1000};
bool broken = false;            // guarded by mu: a collective timed out, no op can run any more
// A stop signal reached this process: the collective in progress (or the next) first asks every
// other rank whether it is still there (requestStopProbe). A rank that does not answer ends it.
std::atomic<bool> stopProbeRequested{false};
std::string stopProbeMissing;   // comm thread only: the ranks that did not answer, or empty

// What this rank's communication thread is doing, for the other ranks' questions after a timeout
// (comm thread only). Ops are numbered 1, 2, ... in execution order, the same order on every rank.
MPI_Comm statusComm = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD: questions never match collectives
const int TAG_ASK = 1;
const int TAG_REPLY = 2;
long long opsDone = 0;
const Op* current = nullptr;
long long changedAt = 0;  // monotonic ms when the current op started, or when the last one ended
long long lastServe = 0;

// Shared-memory allreduce, when every rank runs on this node (comm thread only; set up once at
// init). Each rank owns one slot of kShmSlotBytes in a window all ranks map; see shmAllreduce.
constexpr size_t kShmSlotBytes = 16u << 20;
MPI_Comm nodeComm = MPI_COMM_NULL;
MPI_Win shmWin = MPI_WIN_NULL;
std::vector<unsigned char*> shmSlots;  // by rank

long long nowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

std::string mpiError(int code, const std::string& what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  return what + " failed: " + (len > 0 ? std::string(text, static_cast<size_t>(len)) : "MPI error " + std::to_string(code));
}

// Node loads addons RTLD_LOCAL. Some MPI libraries load plugins that look MPI's own symbols up
// in the global namespace (Open MPI's components); reopening the library RTLD_GLOBAL keeps them
// working. Harmless for MPICH.
void promoteMpiLibraryToGlobal() {
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &dl) != 0 && dl.dli_fname != nullptr)
    dlopen(dl.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

// Answers every question waiting from a rank whose collective timed out: { busy, op number,
// kind, count, element type, ms in this state }. Cheap when there is none (one MPI_Iprobe).
struct Reply {
  MPI_Request req;
  long long v[6];
};
std::deque<Reply>& replies = *new std::deque<Reply>;

void serveAsks() {
  if (statusComm == MPI_COMM_NULL) return;
  lastServe = nowMs();
  for (;;) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, statusComm, &flag, &st) != MPI_SUCCESS || !flag) break;
    int ask = 0;
    if (MPI_Recv(&ask, 1, MPI_INT, st.MPI_SOURCE, TAG_ASK, statusComm, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
    replies.push_back(Reply{});
    Reply& r = replies.back();
    const bool busy = current != nullptr;
    r.v[0] = busy ? 1 : 0;
    r.v[1] = busy ? opsDone + 1 : opsDone;
    r.v[2] = busy ? static_cast<long long>(current->kind) : -1;
    r.v[3] = busy ? static_cast<long long>(current->count) : 0;
    r.v[4] = busy ? static_cast<long long>(current->elem) : 0;
    r.v[5] = lastServe - changedAt;
    if (MPI_Isend(r.v, 6, MPI_LONG_LONG, st.MPI_SOURCE, TAG_REPLY, statusComm, &r.req) != MPI_SUCCESS) replies.pop_back();
  }
  while (!replies.empty()) {
    int done = 0;
    MPI_Test(&replies.front().req, &done, MPI_STATUS_IGNORE);
    if (!done) break;
    replies.pop_front();
  }
}

// Waits for a nonblocking collective. MPI's own blocking calls busy-poll, which on a machine
// whose cores also run the ranks' compute threads (backward overlapping the allreduce of the
// previous bucket) takes a core away from them. The polite wait polls hot for 20 µs, then yields
// the core between polls, and after 1 ms naps 50 µs between polls (MPI progresses inside
// MPI_Test). PTFLOW_MPI_WAIT=spin (or setWaitMode('spin')) polls hot throughout.
// Every 16 tests it also reads the clock: past the collective timeout (counted from the op's
// start) it gives up, setting *timedOut; every 10 ms it answers the other ranks' questions.
std::string unansweredRanks();

int politeWait(MPI_Request* req, bool* timedOut) {
  int done = 0;
  const bool spin = spinWait.load(std::memory_order_relaxed);
  const long long limit = timeoutLimitMs.load(std::memory_order_relaxed);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 0;; i++) {
    int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || done) return rc;
    if ((i & 15) != 15) continue;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long long ms = now.tv_sec * 1000LL + now.tv_nsec / 1000000;
    if (limit > 0 && ms - changedAt >= limit) {
      *timedOut = true;
      return MPI_SUCCESS;
    }
    if (stopProbeRequested.load(std::memory_order_relaxed) && stopProbeRequested.exchange(false)) {
      stopProbeMissing = unansweredRanks();
      if (!stopProbeMissing.empty()) {
        *timedOut = true;
        return MPI_SUCCESS;
      }
    }
    if (ms - lastServe >= 10) serveAsks();
    if (spin) continue;
    const long long us = (now.tv_sec - t0.tv_sec) * 1000000LL + (now.tv_nsec - t0.tv_nsec) / 1000;
    if (us < 20) continue;
    if (us < 1000) {
      sched_yield();
      continue;
    }
    struct timespec nap = {0, 50 * 1000};
    nanosleep(&nap, nullptr);
  }
}

// Every rank must enter the same collective with the same length (and root): otherwise MPI
// truncates, or the chunked loops below run a different number of calls and the job hangs. One
// small MAX-allreduce of (x, -x) pairs finds any disagreement, and every rank then fails the op
// with the same message instead of hanging.
std::string checkAgreement(const Op& op, bool* timedOut) {
  long long v[6] = {static_cast<long long>(op.kind), -static_cast<long long>(op.kind),
                    static_cast<long long>(op.count), -static_cast<long long>(op.count),
                    static_cast<long long>(op.root * 4 + static_cast<int>(op.elem)),
                    -static_cast<long long>(op.root * 4 + static_cast<int>(op.elem))};
  MPI_Request req;
  int rc = MPI_Iallreduce(MPI_IN_PLACE, v, 6, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD, &req);
  if (rc == MPI_SUCCESS) rc = politeWait(&req, timedOut);
  if (rc != MPI_SUCCESS) return mpiError(rc, "MPI_Iallreduce (agreement check)");
  if (*timedOut) return "";
  if (v[0] != -v[1]) return "ranks called different collectives at the same point (allreduce, broadcast and barrier must be called in the same order on every rank)";
  if (v[2] != -v[3])
    return "ranks passed buffers of different lengths (" + std::to_string(-v[3]) + " to " + std::to_string(v[2]) +
           " elements; this rank: " + std::to_string(op.count) + ")";
  if (v[4] != -v[5]) return "ranks passed different element types or roots to the same collective";
  return "";
}

size_t chunkElements(size_t elemBytes) {
  size_t n = chunk.load() / elemBytes;
  return std::max<size_t>(1, std::min<size_t>(n, static_cast<size_t>(INT_MAX)));
}

// Every rank on one node (MPI_COMM_TYPE_SHARED spans the world) and PTFLOW_MPI_SHM is not 0:
// map one window with a slot per rank. Each step that could go one way on one rank and another
// way elsewhere (the variable, the window's allocation, e.g. a small /dev/shm in a container) is
// agreed on by every rank first: a rank taking MPI's path alone would leave the others waiting.
bool everyRank(MPI_Comm comm, bool mine) {
  int v = mine ? 1 : 0, all = 0;
  return MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, comm) == MPI_SUCCESS && all == 1;
}

void setUpSharedMemory() {
  if (world.size < 2) return;
  const char* env = std::getenv("PTFLOW_MPI_SHM");
  MPI_Comm comm;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &comm) != MPI_SUCCESS) return;
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  int n = 0;
  MPI_Comm_size(comm, &n);
  if (!everyRank(MPI_COMM_WORLD, n == world.size && !(env != nullptr && std::strcmp(env, "0") == 0))) {
    MPI_Comm_free(&comm);
    return;
  }
  void* base = nullptr;
  const bool got = MPI_Win_allocate_shared(static_cast<MPI_Aint>(kShmSlotBytes), 1, MPI_INFO_NULL, comm, &base, &shmWin) == MPI_SUCCESS;
  if (!got) shmWin = MPI_WIN_NULL;
  if (!everyRank(comm, got)) {
    if (shmWin != MPI_WIN_NULL) MPI_Win_free(&shmWin);
    shmWin = MPI_WIN_NULL;
    MPI_Comm_free(&comm);
    return;
  }
  shmSlots.assign(static_cast<size_t>(n), nullptr);
  for (int r = 0; r < n; r++) {
    MPI_Aint size = 0;
    int disp = 0;
    void* p = nullptr;
    MPI_Win_shared_query(shmWin, r, &size, &disp, &p);
    shmSlots[static_cast<size_t>(r)] = static_cast<unsigned char*>(p);
  }
  // One passive epoch for the window's whole life; MPI_Win_sync orders the loads and stores.
  MPI_Win_lock_all(MPI_MODE_NOCHECK, shmWin);
  nodeComm = comm;
  world.sharedMemory = true;
}

void freeSharedMemory() {
  if (shmWin != MPI_WIN_NULL) {
    MPI_Win_unlock_all(shmWin);
    MPI_Win_free(&shmWin);
  }
  if (nodeComm != MPI_COMM_NULL) MPI_Comm_free(&nodeComm);
}

// Every rank's stores to the window before it are visible to every rank's loads after it.
std::string shmBarrier(bool* timedOut) {
  MPI_Win_sync(shmWin);
  MPI_Request req;
  int rc = MPI_Ibarrier(nodeComm, &req);
  if (rc == MPI_SUCCESS) rc = politeWait(&req, timedOut);
  if (rc != MPI_SUCCESS) return mpiError(rc, "MPI_Ibarrier (shared-memory allreduce)");
  MPI_Win_sync(shmWin);
  return "";
}

// Sum over the ranks through the shared window, a slot's worth at a time: each rank copies its
// values into its slot; rank r adds up its share [n·r/N, n·(r+1)/N) of every slot, in rank order,
// into its own buffer and its slot (sumShare); then each copies the other shares from their owners' slots.
// Every element is summed once, by one rank, so all ranks get the same bits. MPICH's allreduce
// over shared memory moves each byte through its cells several times more (bench/ddp.ts).
// x[i] = slot 0 + slot 1 + … (rank order) at [lo, lo + n), written to x and to this rank's slot
// in one pass; blocks of 1024 keep the partial sums in L1 when there are more than two ranks.
template <typename T>
void sumShare(T* __restrict x, size_t me, size_t lo, size_t n) {
  const size_t N = shmSlots.size();
  auto slot = [lo](size_t r) { return reinterpret_cast<T*>(shmSlots[r]) + lo; };
  T* __restrict mine = slot(me);
  for (size_t b = 0; b < n; b += 1024) {
    const size_t e = std::min(n, b + 1024);
    const T* __restrict s0 = slot(0);
    const T* __restrict s1 = slot(1);
    for (size_t i = b; i < e; i++) x[i] = s0[i] + s1[i];
    for (size_t r = 2; r < N; r++) {
      const T* __restrict sr = slot(r);
      for (size_t i = b; i < e; i++) x[i] += sr[i];
    }
    for (size_t i = b; i < e; i++) mine[i] = x[i];
  }
}

template <typename T>
std::string shmAllreduce(T* data, size_t count, bool* timedOut) {
  const size_t per = std::min(kShmSlotBytes, chunk.load()) / sizeof(T);
  const size_t N = shmSlots.size();
  const size_t me = static_cast<size_t>(world.rank);
  auto slot = [](size_t r) { return reinterpret_cast<T*>(shmSlots[r]); };
  for (size_t at = 0; at < count; at += per) {
    const size_t n = std::min(per, count - at);
    T* x = data + at;
    // The previous piece's shares must all be read before a slot is written again (the op
    // before this one ended with every rank done: the next op's agreement check waits for all).
    if (at > 0) {
      std::string err = shmBarrier(timedOut);
      if (!err.empty() || *timedOut) return err;
    }
    std::memcpy(slot(me), x, n * sizeof(T));
    std::string err = shmBarrier(timedOut);
    if (!err.empty() || *timedOut) return err;
    const size_t lo = n * me / N, hi = n * (me + 1) / N;
    sumShare(x + lo, me, lo, hi - lo);
    err = shmBarrier(timedOut);
    if (!err.empty() || *timedOut) return err;
    for (size_t r = 0; r < N; r++) {
      if (r == me) continue;
      const size_t a = n * r / N, b = n * (r + 1) / N;
      std::memcpy(x + a, slot(r) + a, (b - a) * sizeof(T));
    }
  }
  return "";
}

std::string execute(const Op& op, bool* timedOut) {
  std::string err = checkAgreement(op, timedOut);
  if (!err.empty() || *timedOut) return err;
  switch (op.kind) {
    case OpKind::Barrier: {
      MPI_Request req;
      int rc = MPI_Ibarrier(MPI_COMM_WORLD, &req);
      if (rc == MPI_SUCCESS) rc = politeWait(&req, timedOut);
      return rc == MPI_SUCCESS ? "" : mpiError(rc, "MPI_Ibarrier");
    }
    case OpKind::Broadcast: {
      const size_t step = chunkElements(1);
      auto* p = static_cast<unsigned char*>(op.data);
      for (size_t at = 0; at < op.count; at += step) {
        int n = static_cast<int>(std::min(step, op.count - at));
        MPI_Request req;
        int rc = MPI_Ibcast(p + at, n, MPI_BYTE, op.root, MPI_COMM_WORLD, &req);
        if (rc == MPI_SUCCESS) rc = politeWait(&req, timedOut);
        if (rc != MPI_SUCCESS) return mpiError(rc, "MPI_Ibcast");
        if (*timedOut) return "";
      }
      return "";
    }
    case OpKind::Allreduce: {
      const bool f32 = op.elem == Elem::F32;
      const size_t elemBytes = f32 ? 4 : 8;
      const size_t step = chunkElements(elemBytes);
      auto* p = static_cast<unsigned char*>(op.data);
      if (shmWin != MPI_WIN_NULL) {
        std::string err = f32 ? shmAllreduce(static_cast<float*>(op.data), op.count, timedOut)
                              : shmAllreduce(static_cast<double*>(op.data), op.count, timedOut);
        if (!err.empty() || *timedOut) return err;
      }
      for (size_t at = 0; shmWin == MPI_WIN_NULL && at < op.count; at += step) {
        int n = static_cast<int>(std::min(step, op.count - at));
        MPI_Request req;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, p + at * elemBytes, n, f32 ? MPI_FLOAT : MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req);
        if (rc == MPI_SUCCESS) rc = politeWait(&req, timedOut);
        if (rc != MPI_SUCCESS) return mpiError(rc, "MPI_Iallreduce");
        if (*timedOut) return "";
      }
      if (op.mean && world.size > 1) {
        // Divide (not multiply by 1/size): the same rounding as sum / size computed anywhere else.
        if (f32) {
          float* x = static_cast<float*>(op.data);
          const float d = static_cast<float>(world.size);
          for (size_t i = 0; i < op.count; i++) x[i] /= d;
        } else {
          double* x = static_cast<double*>(op.data);
          const double d = static_cast<double>(world.size);
          for (size_t i = 0; i < op.count; i++) x[i] /= d;
        }
      }
      return "";
    }
  }
  return "unknown collective";
}

std::string describeOp(long long kind, long long count, long long elem) {
  const char* type = elem == static_cast<long long>(Elem::F32) ? "float32" : elem == static_cast<long long>(Elem::F64) ? "float64" : "byte";
  switch (static_cast<OpKind>(kind)) {
    case OpKind::Allreduce: return "allreduce of " + std::to_string(count) + " " + type + " elements";
    case OpKind::Broadcast: return "broadcast of " + std::to_string(count) + " bytes";
    case OpKind::Barrier: return "barrier";
  }
  return "collective";
}

std::string seconds(long long ms) {
  char b[32];
  snprintf(b, sizeof b, "%.1f s", static_cast<double>(ms) / 1000.0);
  return b;
}

// Asks every other rank what it is doing and waits up to 5 s for the answers (answering the
// others' questions meanwhile: they may be asking too). Buffers live for the process: an
// unanswered question stays posted.
struct RankAnswers {
  const long long* v;  // 6 per rank
  const bool* got;
};

RankAnswers askRanks() {
  const int n = world.size;
  auto* answers = new long long[6 * static_cast<size_t>(n)]();
  auto* recv = new MPI_Request[n];
  auto* send = new MPI_Request[n];
  auto* got = new bool[n]();
  static int ask = 1;
  for (int r = 0; r < n; r++) {
    recv[r] = send[r] = MPI_REQUEST_NULL;
    if (r == world.rank) continue;
    MPI_Irecv(answers + 6 * r, 6, MPI_LONG_LONG, r, TAG_REPLY, statusComm, &recv[r]);
    MPI_Isend(&ask, 1, MPI_INT, r, TAG_ASK, statusComm, &send[r]);
  }
  const long long deadline = nowMs() + 5000;
  int missing = n - 1;
  while (missing > 0 && nowMs() < deadline) {
    serveAsks();
    for (int r = 0; r < n; r++) {
      if (r == world.rank || got[r] || recv[r] == MPI_REQUEST_NULL) continue;
      int flag = 0;
      if (MPI_Test(&recv[r], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag) {
        got[r] = true;
        missing--;
      }
    }
    struct timespec nap = {0, 1000 * 1000};
    nanosleep(&nap, nullptr);
  }
  return RankAnswers{answers, got};
}

// "rank 1, rank 3": the other ranks that do not answer within 5 s, or "" when all do.
std::string unansweredRanks() {
  const RankAnswers ans = askRanks();
  std::string out;
  for (int r = 0; r < world.size; r++)
    if (r != world.rank && !ans.got[r]) out += (out.empty() ? "rank " : ", rank ") + std::to_string(r);
  return out;
}

// After a timeout: one clause per other rank saying what it is doing.
std::string askOthers(long long seq) {
  const int n = world.size;
  const RankAnswers ans = askRanks();
  const long long* answers = ans.v;
  const bool* got = ans.got;
  std::string out;
  for (int r = 0; r < n; r++) {
    if (r == world.rank) continue;
    const long long* a = answers + 6 * r;
    std::string who = "rank " + std::to_string(r);
    std::string clause;
    if (!got[r]) {
      clause = who + " did not answer within 5 s (its process is stopped, or its MPI cannot make progress)";
    } else if (a[0] == 1 && a[1] == seq) {
      clause = who + " waits in it too (for " + seconds(a[5]) + ")";
    } else if (a[0] == 1) {
      clause = who + " waits in collective #" + std::to_string(a[1]) + ", a " + describeOp(a[2], a[3], a[4]) + " (for " + seconds(a[5]) + ")";
    } else if (a[1] == 0) {
      clause = who + " has called no collective in the " + seconds(a[5]) + " since MPI started (its JavaScript is busy elsewhere or stuck)";
    } else {
      clause = who + " has not called it: its last collective, #" + std::to_string(a[1]) + ", ended " + seconds(a[5]) +
               " ago and it has called none since (its JavaScript is busy elsewhere or stuck)";
    }
    out += (out.empty() ? "" : "; ") + clause;
  }
  return out;
}

std::string timeoutMessage(const Op& op, long long seq) {
  const long long limit = timeoutLimitMs.load();
  return describeOp(static_cast<long long>(op.kind), static_cast<long long>(op.count), static_cast<long long>(op.elem)) +
         " (collective #" + std::to_string(seq) + ") timed out: waited " + seconds(limit) +
         " for every rank to join (the collective timeout, ddp_timeout). " + askOthers(seq);
}

void run() {
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (rc != MPI_SUCCESS) {
      initError = mpiError(rc, "MPI_Init_thread");
      state = State::Failed;
      cv.notify_all();
      return;
    }
    // Errors come back as return codes (then JS errors) instead of aborting the job from inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &statusComm) != MPI_SUCCESS) statusComm = MPI_COMM_NULL;
    else MPI_Comm_set_errhandler(statusComm, MPI_ERRORS_RETURN);
    changedAt = nowMs();
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    world.threadLevel = provided;
    world.threadMultiple = provided >= MPI_THREAD_MULTIPLE;
    setUpSharedMemory();
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(version, &len) == MPI_SUCCESS) {
      std::string v(version, static_cast<size_t>(std::max(0, len)));
      world.library = v.substr(0, v.find('\n'));
    }
    state = State::Up;
    cv.notify_all();
  }
  for (;;) {
    Op op;
    bool isBroken = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      // Idle: wake every 50 ms to answer a timed-out rank's question.
      while (queue.empty() && !finalizeRequested) {
        if (cv.wait_for(lock, std::chrono::milliseconds(50)) == std::cv_status::timeout) {
          lock.unlock();
          serveAsks();
          lock.lock();
        }
      }
      if (queue.empty()) break;  // finalize requested and nothing left to run
      op = std::move(queue.front());
      queue.pop_front();
      isBroken = broken;
    }
    if (isBroken) {
      op.done("an earlier collective timed out: this rank's MPI world cannot be used any more", false);
      continue;
    }
    const long long seq = opsDone + 1;
    current = &op;
    changedAt = nowMs();
    bool timedOut = false;
    std::string err = execute(op, &timedOut);
    if (timedOut) {
      err = stopProbeMissing.empty()
                ? timeoutMessage(op, seq)
                : describeOp(static_cast<long long>(op.kind), static_cast<long long>(op.count), static_cast<long long>(op.elem)) +
                      " (collective #" + std::to_string(seq) + ") cannot complete: " + stopProbeMissing +
                      " did not answer within 5 s when this rank was told to stop (its process is gone or stopped)";
      std::lock_guard<std::mutex> lock(mu);
      broken = true;
    }
    current = nullptr;
    opsDone = seq;
    changedAt = nowMs();
    op.done(err, timedOut);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (broken) {
      // The timed-out collective is still posted: MPI_Finalize would wait for it for ever.
      finalizeError = "MPI not finalized: a collective timed out (abort the job instead)";
      state = State::Done;
      cv.notify_all();
      return;
    }
  }
  freeSharedMemory();
  if (statusComm != MPI_COMM_NULL) MPI_Comm_free(&statusComm);
  rc = MPI_Finalize();
  std::lock_guard<std::mutex> lock(mu);
  if (rc != MPI_SUCCESS) finalizeError = mpiError(rc, "MPI_Finalize");
  state = State::Done;
  cv.notify_all();
}

}  // namespace

bool init(WorldInfo* out, std::string* error) {
  std::unique_lock<std::mutex> lock(mu);
  if (state == State::None) {
    state = State::Starting;
    promoteMpiLibraryToGlobal();
    // Detached: it lives as long as the process; exiting without finalize() must not
    // run a joinable std::thread's destructor (that would call std::terminate).
    std::thread(run).detach();
  }
  cv.wait(lock, [] { return state != State::Starting; });
  if (state == State::Failed) {
    *error = initError;
    return false;
  }
  if (state == State::Done) {
    *error = "MPI was already finalized in this process";
    return false;
  }
  *out = world;
  return true;
}

bool initialized() {
  std::lock_guard<std::mutex> lock(mu);
  return state == State::Up;
}

bool finalized() {
  std::lock_guard<std::mutex> lock(mu);
  return state == State::Done;
}

bool submit(Op op, std::string* error) {
  if (op.kind == OpKind::Allreduce && op.elem == Elem::Byte) {
    *error = "allreduce needs a Float32Array or Float64Array";
    return false;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (state != State::Up || finalizeRequested) {
    *error = state == State::Done || finalizeRequested ? "MPI is finalized" : "MPI is not initialized (call init() first)";
    return false;
  }
  if (broken) {
    *error = "an earlier collective timed out: this rank's MPI world cannot be used any more";
    return false;
  }
  if (op.kind == OpKind::Broadcast && (op.root < 0 || op.root >= world.size)) {
    *error = "broadcast root " + std::to_string(op.root) + " is not a rank of this world of " + std::to_string(world.size);
    return false;
  }
  queue.push_back(std::move(op));
  cv.notify_all();
  return true;
}

void setSpinWait(bool spin) { spinWait.store(spin); }
bool spinWaitEnabled() { return spinWait.load(); }

void requestStopProbe() { stopProbeRequested.store(true); }

void setTimeoutMs(long long ms) { timeoutLimitMs.store(std::max<long long>(0, ms)); }
long long timeoutMs() { return timeoutLimitMs.load(); }

void setChunkBytes(size_t bytes) { chunk.store(std::max<size_t>(8, bytes)); }
size_t chunkBytes() { return chunk.load(); }

bool finalize(std::string* error) {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [] { return state != State::Starting; });
  // Never initialised, failed to (the thread has returned), or already finalized: nothing to do.
  if (state != State::Up) return true;
  finalizeRequested = true;
  cv.notify_all();
  cv.wait(lock, [] { return state == State::Done; });
  if (!finalizeError.empty()) {
    *error = finalizeError;
    return false;
  }
  return true;
}

bool abort(int code) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (state != State::Up && state != State::Starting) return false;
  }
  // The launcher exits when the abort reaches it: let it read the lines saying why first.
  waitOutputTaken(kAbortOutputWaitMs);
  // MPI_Abort ends the process with exit(), whose clean-up can block for good when called off
  // Node's main thread (seen under srun: the rank lived on until Slurm's KillWait). If the
  // process still runs 3 s after the abort was sent, it ends without clean-up.
  std::thread([code] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    _exit(code);
  }).detach();
  MPI_Abort(MPI_COMM_WORLD, code);
  return false;  // not reached when MPI_Abort ends the process
}

}  // namespace ptflow_mpi
