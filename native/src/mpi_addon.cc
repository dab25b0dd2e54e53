// N-API surface of ptflow_mpi.node (the optional MPI transport; see mpi_comm.h for the threading).
// Context-aware: the main thread and worker_threads each load it and share one MPI world.
//
//   init() -> { rank, size, threadLevel, threadMultiple, library, sharedMemory }   idempotent, blocking (MPI wire-up)
//   allreduce(Float32Array | Float64Array, 'sum' | 'mean') -> Promise<void>   in place
//   broadcast(TypedArray, root) -> Promise<void>                              in place
//   barrier() -> Promise<void>
//   abort(code) -> false when MPI is not up (otherwise the process is gone)
//   waitOutputTaken(timeoutMs) -> true when this process's reader has taken everything it wrote
//     to stdout and stderr (what abort waits for first; output_drain.h); false after the timeout
//   finalize(), initialized(), finalized(), setChunkBytes(n), chunkBytes(),
//   setWaitMode('spin' | 'polite'), waitMode(), setTimeoutSeconds(s), timeoutSeconds()
//   requestStopProbe()   a stop signal arrived: ask the other ranks if they are there (mpi_comm.h)
//
// A collective that waits longer than the timeout rejects with code PTFLOW_MPI_TIMEOUT (the
// message names the op and what each other rank is doing); every later call then fails.
//
// A pending op keeps its TypedArray alive (a reference) and the event loop alive (a
// thread-safe function, released when the op completes); the JS thread never blocks on MPI.
#include <node_api.h>

#include <cstdlib>
#include <string>

#include "mpi_comm.h"
#include "output_drain.h"

namespace {

#define CHECK_NAPI(env, call)                                                  \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error((env), "PTFLOW_MPI", "N-API call failed: " #call);      \
      return nullptr;                                                          \
    }                                                                          \
  } while (0)

napi_value throwError(napi_env env, const std::string& msg) {
  napi_throw_error(env, "PTFLOW_MPI", msg.c_str());
  return nullptr;
}

struct Pending {
  napi_deferred deferred = nullptr;
  napi_ref keep = nullptr;  // the TypedArray under MPI, if any
  napi_threadsafe_function tsfn = nullptr;
  std::string error;
  bool timedOut = false;  // rejected with code PTFLOW_MPI_TIMEOUT
};

// Runs on the JS thread that submitted the op. env is null when that thread is already gone.
void complete(napi_env env, napi_value /*js_cb*/, void* /*context*/, void* data) {
  auto* p = static_cast<Pending*>(data);
  if (env != nullptr) {
    if (p->keep != nullptr) napi_delete_reference(env, p->keep);
    if (p->error.empty()) {
      napi_value undef;
      napi_get_undefined(env, &undef);
      napi_resolve_deferred(env, p->deferred, undef);
    } else {
      napi_value code, msg, err;
      napi_create_string_utf8(env, p->timedOut ? "PTFLOW_MPI_TIMEOUT" : "PTFLOW_MPI", NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, p->error.c_str(), NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, &err);
      napi_reject_deferred(env, p->deferred, err);
    }
  }
  delete p;
}

// Submits `op` and returns its promise; `array` (may be null) stays referenced until completion.
napi_value submitWithPromise(napi_env env, ptflow_mpi::Op op, napi_value array, const char* name) {
  auto* p = new Pending();
  napi_value promise, resourceName;
  if (napi_create_promise(env, &p->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resourceName) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, resourceName, 0, 1, nullptr, nullptr, nullptr, complete,
                                      &p->tsfn) != napi_ok) {
    delete p;
    return throwError(env, std::string(name) + ": cannot set up completion");
  }
  if (array != nullptr && napi_create_reference(env, array, 1, &p->keep) != napi_ok) {
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
    delete p;
    return throwError(env, std::string(name) + ": cannot reference the buffer");
  }
  op.done = [p](const std::string& error, bool timedOut) {
    p->error = error;
    p->timedOut = timedOut;
    napi_threadsafe_function tsfn = p->tsfn;
    if (napi_call_threadsafe_function(tsfn, p, napi_tsfn_blocking) != napi_ok) delete p;  // its thread is gone
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  };
  std::string err;
  if (!ptflow_mpi::submit(std::move(op), &err)) {
    // Not queued: settle now, on this thread.
    if (p->keep != nullptr) napi_delete_reference(env, p->keep);
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
    delete p;
    return throwError(env, std::string(name) + ": " + err);
  }
  return promise;
}

bool typedArray(napi_env env, napi_value v, napi_typedarray_type* type, void** data, size_t* length, size_t* bytes) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, type, length, data, &ab, &offset) != napi_ok) return false;
  size_t elem = 1;
  switch (*type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: elem = 1; break;
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    default: elem = 8; break;
  }
  *bytes = *length * elem;
  return true;
}

napi_value Init(napi_env env, napi_callback_info /*info*/) {
  ptflow_mpi::WorldInfo w;
  std::string err;
  if (!ptflow_mpi::init(&w, &err)) return throwError(env, err);
  napi_value out, v;
  CHECK_NAPI(env, napi_create_object(env, &out));
  CHECK_NAPI(env, napi_create_int32(env, w.rank, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "rank", v));
  CHECK_NAPI(env, napi_create_int32(env, w.size, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "size", v));
  CHECK_NAPI(env, napi_create_int32(env, w.threadLevel, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "threadLevel", v));
  CHECK_NAPI(env, napi_get_boolean(env, w.threadMultiple, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "threadMultiple", v));
  CHECK_NAPI(env, napi_create_string_utf8(env, w.library.c_str(), NAPI_AUTO_LENGTH, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "library", v));
  CHECK_NAPI(env, napi_get_boolean(env, w.sharedMemory, &v));
  CHECK_NAPI(env, napi_set_named_property(env, out, "sharedMemory", v));
  return out;
}

napi_value Allreduce(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) return throwError(env, "allreduce(buffer, op): expected 2 arguments");
  ptflow_mpi::Op op;
  op.kind = ptflow_mpi::OpKind::Allreduce;
  napi_typedarray_type type;
  size_t bytes = 0;
  if (!typedArray(env, argv[0], &type, &op.data, &op.count, &bytes) ||
      (type != napi_float32_array && type != napi_float64_array))
    return throwError(env, "allreduce: buffer must be a Float32Array or Float64Array");
  op.elem = type == napi_float32_array ? ptflow_mpi::Elem::F32 : ptflow_mpi::Elem::F64;
  char name[8] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok ||
      (std::string(name) != "sum" && std::string(name) != "mean"))
    return throwError(env, "allreduce: op must be 'sum' or 'mean'");
  op.mean = std::string(name) == "mean";
  return submitWithPromise(env, std::move(op), argv[0], "allreduce");
}

napi_value Broadcast(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) return throwError(env, "broadcast(buffer, root): expected 2 arguments");
  ptflow_mpi::Op op;
  op.kind = ptflow_mpi::OpKind::Broadcast;
  op.elem = ptflow_mpi::Elem::Byte;
  napi_typedarray_type type;
  size_t length = 0;
  if (!typedArray(env, argv[0], &type, &op.data, &length, &op.count))
    return throwError(env, "broadcast: buffer must be a TypedArray");
  int32_t root = 0;
  if (napi_get_value_int32(env, argv[1], &root) != napi_ok) return throwError(env, "broadcast: root must be a rank number");
  op.root = root;
  return submitWithPromise(env, std::move(op), argv[0], "broadcast");
}

napi_value Barrier(napi_env env, napi_callback_info /*info*/) {
  ptflow_mpi::Op op;
  op.kind = ptflow_mpi::OpKind::Barrier;
  return submitWithPromise(env, std::move(op), nullptr, "barrier");
}

napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t code = 1;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  bool ended = ptflow_mpi::abort(code);
  napi_value v;
  CHECK_NAPI(env, napi_get_boolean(env, ended, &v));
  return v;
}

napi_value WaitOutputTaken(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t timeoutMs = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &timeoutMs) != napi_ok || timeoutMs < 0)
    return throwError(env, "waitOutputTaken: expected a timeout in milliseconds >= 0");
  napi_value v;
  CHECK_NAPI(env, napi_get_boolean(env, ptflow_mpi::waitOutputTaken(timeoutMs), &v));
  return v;
}

napi_value Finalize(napi_env env, napi_callback_info /*info*/) {
  std::string err;
  if (!ptflow_mpi::finalize(&err)) return throwError(env, err);
  return nullptr;
}

napi_value Initialized(napi_env env, napi_callback_info /*info*/) {
  napi_value v;
  CHECK_NAPI(env, napi_get_boolean(env, ptflow_mpi::initialized(), &v));
  return v;
}

napi_value Finalized(napi_env env, napi_callback_info /*info*/) {
  napi_value v;
  CHECK_NAPI(env, napi_get_boolean(env, ptflow_mpi::finalized(), &v));
  return v;
}

napi_value SetChunkBytes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  double n = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &n) != napi_ok || !(n >= 8))
    return throwError(env, "setChunkBytes: expected a number of bytes >= 8");
  ptflow_mpi::setChunkBytes(static_cast<size_t>(n));
  return nullptr;
}

napi_value SetWaitMode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char mode[16] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], mode, sizeof mode, &len) != napi_ok ||
      (std::string(mode) != "spin" && std::string(mode) != "polite"))
    return throwError(env, "setWaitMode: expected 'spin' or 'polite'");
  ptflow_mpi::setSpinWait(std::string(mode) == "spin");
  return nullptr;
}

napi_value WaitMode(napi_env env, napi_callback_info /*info*/) {
  napi_value v;
  CHECK_NAPI(env, napi_create_string_utf8(env, ptflow_mpi::spinWaitEnabled() ? "spin" : "polite", NAPI_AUTO_LENGTH, &v));
  return v;
}

napi_value SetTimeoutSeconds(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  double s = -1;
  if (argc < 1 || napi_get_value_double(env, argv[0], &s) != napi_ok || !(s >= 0))
    return throwError(env, "setTimeoutSeconds: expected a number of seconds >= 0 (0: wait for ever)");
  ptflow_mpi::setTimeoutMs(s * 1000.0 >= 9.2e18 ? 0 : static_cast<long long>(s * 1000.0));
  return nullptr;
}

napi_value RequestStopProbe(napi_env /*env*/, napi_callback_info /*info*/) {
  ptflow_mpi::requestStopProbe();
  return nullptr;
}

napi_value TimeoutSeconds(napi_env env, napi_callback_info /*info*/) {
  napi_value v;
  CHECK_NAPI(env, napi_create_double(env, static_cast<double>(ptflow_mpi::timeoutMs()) / 1000.0, &v));
  return v;
}

napi_value ChunkBytes(napi_env env, napi_callback_info /*info*/) {
  napi_value v;
  CHECK_NAPI(env, napi_create_double(env, static_cast<double>(ptflow_mpi::chunkBytes()), &v));
  return v;
}

}  // namespace

NAPI_MODULE_INIT() {
  static const bool envSpin = [] {
    const char* w = std::getenv("PTFLOW_MPI_WAIT");
    if (w != nullptr && std::string(w) == "spin") ptflow_mpi::setSpinWait(true);
    return true;
  }();
  (void)envSpin;
  napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allreduce", nullptr, Allreduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"broadcast", nullptr, Broadcast, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"barrier", nullptr, Barrier, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"waitOutputTaken", nullptr, WaitOutputTaken, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finalize", nullptr, Finalize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"initialized", nullptr, Initialized, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finalized", nullptr, Finalized, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setChunkBytes", nullptr, SetChunkBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"chunkBytes", nullptr, ChunkBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWaitMode", nullptr, SetWaitMode, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"waitMode", nullptr, WaitMode, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setTimeoutSeconds", nullptr, SetTimeoutSeconds, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"timeoutSeconds", nullptr, TimeoutSeconds, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"requestStopProbe", nullptr, RequestStopProbe, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  return exports;
}
