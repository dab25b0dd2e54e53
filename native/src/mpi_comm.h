// The MPI side of ptflow_mpi.node, without N-API: one process-wide communication thread that
// initialises MPI and then runs every collective in the order it was submitted.
//
// Why one thread: a collective must be entered in the same order on every rank. Submissions
// from the JS threads of one process (the main thread, a trainer worker) are serialised into a
// FIFO here, so the order on the wire is the order of submission. MPI is still initialised with
// MPI_THREAD_MULTIPLE so that abort() may be called from any thread while this one is blocked
// inside a collective (that is how a failing rank ends a job whose other ranks wait on it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ptflow_mpi {

enum class OpKind { Allreduce, Broadcast, Barrier };
enum class Elem { F32, F64, Byte };

struct Op {
  OpKind kind = OpKind::Barrier;
  Elem elem = Elem::Byte;
  void* data = nullptr;
  size_t count = 0;  // elements of `elem`
  bool mean = false; // allreduce: divide the sum by the world size
  int root = 0;      // broadcast
  // Called on the communication thread when the op is done; `error` is empty on success.
  // `timedOut`: the op waited longer than the collective timeout (the world is then unusable).
  std::function<void(const std::string& error, bool timedOut)> done;
};

struct WorldInfo {
  int rank = 0;
  int size = 1;
  int threadLevel = 0;         // what MPI_Init_thread provided
  bool threadMultiple = false; // threadLevel is MPI_THREAD_MULTIPLE (abort from any thread is safe)
  std::string library;  // first line of MPI_Get_library_version
  bool sharedMemory = false;  // allreduce runs through a shared window (every rank on this node)
};

// Initialises MPI on the communication thread (started on first call) and waits for it.
// Idempotent and thread-safe: later calls return the first result. Returns false with `error`
// set when MPI could not be initialised (the error is sticky).
bool init(WorldInfo* out, std::string* error);
bool initialized();
bool finalized();

// Queues an op; `done` runs later on the communication thread. Fails at once (returns false,
// `error` set) before init, after finalize, or when the op is invalid.
bool submit(Op op, std::string* error);

// Elements per MPI call for allreduce and broadcast (MPI counts are int; smaller chunks also
// let a test cover the chunked path). Bytes, rounded down to whole elements, at least 8.
void setChunkBytes(size_t bytes);
size_t chunkBytes();

// How the communication thread waits for a collective: false (default) polls, then yields the
// core, then naps; true polls hot (lowest latency when every rank has a core to itself).
void setSpinWait(bool spin);
bool spinWaitEnabled();

// How long one collective may wait for the other ranks before it fails (milliseconds; 0: for
// ever; default 30 minutes, Hugging Face's ddp_timeout of 1800 s). On expiry this rank asks
// every other rank what it is doing (each rank's communication thread answers, busy or idle,
// whatever its JS threads are doing), fails the op with the answers in its message, and refuses
// every later op: an MPI collective cannot be withdrawn, so the caller must abort().
// A stop signal reached this process: the collective in progress, or the next one, first asks
// every other rank whether it is there; one that does not answer within 5 s ends that collective
// like a timeout (the job is then aborted), naming it. Callable from any thread.
void requestStopProbe();
void setTimeoutMs(long long ms);
long long timeoutMs();

// Runs every queued op, then MPI_Finalize on the communication thread; waits for it.
bool finalize(std::string* error);

// MPI_Abort(MPI_COMM_WORLD, code) from the calling thread, once the launcher has read what this
// process wrote to stdout and stderr (at most kAbortOutputWaitMs; output_drain.h). Does not
// return when MPI is up; without MPI it returns false and the caller exits by itself.
constexpr int kAbortOutputWaitMs = 5000;
bool abort(int code);

}  // namespace ptflow_mpi
