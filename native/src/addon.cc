// N-API surface of the ptflow native kernels (plain node_api.h, context-aware, no
// per-environment state). Every buffer argument is a TypedArray plus a byte offset, so
// callers pass wasm heaps (ArrayBuffer or SharedArrayBuffer) and Float32Arrays alike
// without copying; every access is bounds-checked before any work starts.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <time.h>
#include <vector>

#include "adamw.h"
#include "attention.h"
#include "ce.h"
#include "denormals.h"
#include "rmsnorm.h"
#include "rope.h"
#include "sumsq.h"
#include "swiglu.h"
#include "elementwise.h"
#include "malloc_tuning.h"
#include "dispatch.h"
#include "pool.h"

namespace {

using ptflow::GemmArgs;

#define CHECK_NAPI(env, call)                                    \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error((env), "PTFLOW_NATIVE", "N-API call failed: " #call); \
      return nullptr;                                            \
    }                                                            \
  } while (0)

napi_value throw_range(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "PTFLOW_NATIVE", msg.c_str());
  return nullptr;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

// A float32 view: pointer to element 0 and the number of float32 elements available.
struct F32 {
  float* ptr = nullptr;
  int64_t len = 0;
};

bool get_f32(napi_env env, napi_value array, napi_value byteOffsetValue, const char* what, F32* out,
             std::string* err) {
  bool isTyped = false;
  if (napi_is_typedarray(env, array, &isTyped) != napi_ok || !isTyped) {
    *err = std::string(what) + ": expected a TypedArray";
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t viewOffset = 0;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &ab, &viewOffset) != napi_ok) {
    *err = std::string(what) + ": cannot read TypedArray";
    return false;
  }
  size_t elem = 1;
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: elem = 1; break;
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    default: elem = 8; break;
  }
  double off = 0;
  if (byteOffsetValue != nullptr && !is_nullish(env, byteOffsetValue)) {
    if (napi_get_value_double(env, byteOffsetValue, &off) != napi_ok) {
      *err = std::string(what) + ": byte offset must be a number";
      return false;
    }
  }
  const double bytes = static_cast<double>(length) * static_cast<double>(elem);
  if (!(off >= 0) || off != std::floor(off) || off > bytes) {
    *err = std::string(what) + ": byte offset out of range";
    return false;
  }
  const uint64_t offBytes = static_cast<uint64_t>(off);
  if (offBytes % 4 != 0) {
    *err = std::string(what) + ": byte offset must be a multiple of 4";
    return false;
  }
  out->ptr = reinterpret_cast<float*>(static_cast<uint8_t*>(data) + offBytes);
  out->len = static_cast<int64_t>((static_cast<uint64_t>(bytes) - offBytes) / 4);
  if (data == nullptr) out->len = 0;
  return true;
}

bool get_int64_desc(napi_env env, napi_value v, std::vector<double>* out) {
  bool isTyped = false;
  if (napi_is_typedarray(env, v, &isTyped) != napi_ok || !isTyped) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t viewOffset = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &viewOffset) != napi_ok) return false;
  if (type != napi_float64_array) return false;
  out->assign(static_cast<double*>(data), static_cast<double*>(data) + length);
  return true;
}

bool is_count(double x) { return x >= 0 && x == std::floor(x) && x < 9.0e15; }

// Largest element index touched by an operand of `rows x cols` with strides (rs, cs)
// over all batch items; returns -1 when it is empty.
// Computed in double so absurd shapes cannot overflow past the check.
double max_index(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int64_t maxBatchOff) {
  if (rows <= 0 || cols <= 0) return -1;
  return static_cast<double>(maxBatchOff) + static_cast<double>(rows - 1) * static_cast<double>(rs) +
         static_cast<double>(cols - 1) * static_cast<double>(cs);
}

// gemm(a, aByteOff, b, bByteOff, c, cByteOff, desc: Float64Array, bias?, biasByteOff?,
//      batchOffsets?: Float64Array)
// desc = [batch, M, N, K, transA, transB, lda, ldb, ldc, strideA, strideB, strideC,
//         biasMode, activation, alpha]
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 7) return throw_range(env, "gemm: expected at least 7 arguments");
  std::string err;
  F32 A, B, C, Bias;
  if (!get_f32(env, argv[0], argv[1], "gemm a", &A, &err) || !get_f32(env, argv[2], argv[3], "gemm b", &B, &err) ||
      !get_f32(env, argv[4], argv[5], "gemm c", &C, &err))
    return throw_range(env, err);
  std::vector<double> d;
  if (!get_int64_desc(env, argv[6], &d) || d.size() < 15)
    return throw_range(env, "gemm: desc must be a Float64Array of 15 numbers");
  for (int i = 0; i < 12; i++)
    if (!is_count(d[i])) return throw_range(env, "gemm: desc[" + std::to_string(i) + "] must be a non-negative integer");
  GemmArgs g;
  g.batch = static_cast<int64_t>(d[0]);
  g.M = static_cast<int64_t>(d[1]);
  g.N = static_cast<int64_t>(d[2]);
  g.K = static_cast<int64_t>(d[3]);
  const bool transA = d[4] != 0, transB = d[5] != 0;
  const int64_t lda = static_cast<int64_t>(d[6]), ldb = static_cast<int64_t>(d[7]);
  g.ldc = static_cast<int64_t>(d[8]);
  g.strideA = static_cast<int64_t>(d[9]);
  g.strideB = static_cast<int64_t>(d[10]);
  g.strideC = static_cast<int64_t>(d[11]);
  g.biasMode = static_cast<int>(d[12]);
  g.act = static_cast<int>(d[13]);
  g.alpha = static_cast<float>(d[14]);
  if (g.biasMode < 0 || g.biasMode > 2) return throw_range(env, "gemm: unknown bias mode");
  if (g.act < 0 || g.act > 3) return throw_range(env, "gemm: unknown activation");
  if (transA) { g.rsA = 1; g.csA = lda; } else { g.rsA = lda; g.csA = 1; }
  if (transB) { g.rsB = 1; g.csB = ldb; } else { g.rsB = ldb; g.csB = 1; }
  if (g.ldc < g.N) return throw_range(env, "gemm: ldc < N");
  if ((transA ? lda < g.M : lda < g.K) || (transB ? ldb < g.K : ldb < g.N))
    return throw_range(env, "gemm: leading dimension smaller than the matrix");

  std::vector<int64_t> offsets;
  if (d[0] * (d[9] + d[10] + d[11]) > 9.0e15) return throw_range(env, "gemm: batch strides out of range");
  int64_t maxA = g.strideA * (g.batch > 0 ? g.batch - 1 : 0);
  int64_t maxB = g.strideB * (g.batch > 0 ? g.batch - 1 : 0);
  if (argc >= 10 && !is_nullish(env, argv[9])) {
    std::vector<double> o;
    if (!get_int64_desc(env, argv[9], &o) || static_cast<int64_t>(o.size()) != 2 * g.batch)
      return throw_range(env, "gemm: batchOffsets must be a Float64Array of 2 * batch numbers");
    offsets.resize(o.size());
    maxA = maxB = 0;
    for (size_t i = 0; i < o.size(); i++) {
      if (!is_count(o[i])) return throw_range(env, "gemm: batchOffsets must be non-negative integers");
      offsets[i] = static_cast<int64_t>(o[i]);
      int64_t& mx = (i % 2 == 0) ? maxA : maxB;
      if (offsets[i] > mx) mx = offsets[i];
    }
    g.batchOffsets = offsets.data();
  }
  if (g.batch > 0 && g.M > 0 && g.N > 0) {
    if (g.K > 0) {
      if (max_index(g.M, g.K, g.rsA, g.csA, maxA) >= A.len) return throw_range(env, "gemm: a is too small for its shape");
      if (max_index(g.K, g.N, g.rsB, g.csB, maxB) >= B.len) return throw_range(env, "gemm: b is too small for its shape");
    }
    if (max_index(g.M, g.N, g.ldc, 1, g.strideC * (g.batch - 1)) >= C.len)
      return throw_range(env, "gemm: c is too small for its shape");
  }
  if (g.biasMode != ptflow::kNoBias) {
    if (argc < 9 || !get_f32(env, argv[7], argv[8], "gemm bias", &Bias, &err)) return throw_range(env, err.empty() ? "gemm: bias missing" : err);
    const int64_t need = g.biasMode == ptflow::kBiasPerColumn ? g.N : 1;
    if (Bias.len < need) return throw_range(env, "gemm: bias is too small");
    g.bias = Bias.ptr;
  }
  g.a = A.ptr;
  g.b = B.ptr;
  g.c = C.ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::gemm(g);
  }
  return nullptr;
}

bool get_number(napi_env env, napi_value v, double* out) {
  return napi_get_value_double(env, v, out) == napi_ok && std::isfinite(*out);
}

// Reads N, V and the ignore index at argv[first..first+2] and checks targets
// (int32, N of them) against [0, V) or the ignore index.
bool ce_shape(napi_env env, napi_value* argv, size_t first, const F32& targets, const char* fn, ptflow::CeArgs* a) {
  double n = 0, v = 0, ignore = 0;
  if (!get_number(env, argv[first], &n) || !get_number(env, argv[first + 1], &v) || !is_count(n) || !is_count(v) ||
      !get_number(env, argv[first + 2], &ignore) || ignore != std::floor(ignore) || std::fabs(ignore) > 2147483647.0) {
    throw_range(env, std::string(fn) + ": N, V must be non-negative integers and ignoreIndex an int32");
    return false;
  }
  a->N = static_cast<int64_t>(n);
  a->V = static_cast<int64_t>(v);
  a->ignoreIndex = static_cast<int32_t>(ignore);
  if (a->N > 0 && a->V == 0) {
    throw_range(env, std::string(fn) + ": V must be positive");
    return false;
  }
  if (targets.len < a->N) {
    throw_range(env, std::string(fn) + ": targets holds fewer than N values");
    return false;
  }
  a->targets = reinterpret_cast<const int32_t*>(targets.ptr);
  for (int64_t i = 0; i < a->N; i++) {
    const int32_t t = a->targets[i];
    if (t != a->ignoreIndex && (t < 0 || t >= a->V)) {
      throw_range(env, std::string(fn) + ": target " + std::to_string(t) + " of row " + std::to_string(i) +
                           " is outside [0, " + std::to_string(a->V) + ")");
      return false;
    }
  }
  return true;
}

// crossEntropyForward(logits, off, targets, off, loss, off, lse, off, N, V, ignoreIndex)
napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 11) return throw_range(env, "crossEntropyForward: expected 11 arguments");
  std::string err;
  F32 Z, T, L, S;
  if (!get_f32(env, argv[0], argv[1], "crossEntropyForward logits", &Z, &err) ||
      !get_f32(env, argv[2], argv[3], "crossEntropyForward targets", &T, &err) ||
      !get_f32(env, argv[4], argv[5], "crossEntropyForward loss", &L, &err) ||
      !get_f32(env, argv[6], argv[7], "crossEntropyForward lse", &S, &err))
    return throw_range(env, err);
  ptflow::CeArgs a;
  if (!ce_shape(env, argv, 8, T, "crossEntropyForward", &a)) return nullptr;
  if (static_cast<double>(a.N) * static_cast<double>(a.V) > static_cast<double>(Z.len))
    return throw_range(env, "crossEntropyForward: logits is too small for N x V");
  if (L.len < a.N || S.len < a.N) return throw_range(env, "crossEntropyForward: loss or lse holds fewer than N values");
  a.logits = Z.ptr;
  a.loss = L.ptr;
  a.lse = S.ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::cross_entropy_forward(a);
  }
  return nullptr;
}

// crossEntropyBackward(logits, off, targets, off, lse, off, up, off, upStride, dlogits, off,
//                      N, V, ignoreIndex)
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 14) return throw_range(env, "crossEntropyBackward: expected 14 arguments");
  std::string err;
  F32 Z, T, S, U, D;
  if (!get_f32(env, argv[0], argv[1], "crossEntropyBackward logits", &Z, &err) ||
      !get_f32(env, argv[2], argv[3], "crossEntropyBackward targets", &T, &err) ||
      !get_f32(env, argv[4], argv[5], "crossEntropyBackward lse", &S, &err) ||
      !get_f32(env, argv[6], argv[7], "crossEntropyBackward up", &U, &err) ||
      !get_f32(env, argv[9], argv[10], "crossEntropyBackward dlogits", &D, &err))
    return throw_range(env, err);
  double stride = 0;
  if (!get_number(env, argv[8], &stride) || (stride != 0 && stride != 1))
    return throw_range(env, "crossEntropyBackward: upStride must be 0 (one upstream value) or 1 (one per row)");
  ptflow::CeArgs a;
  if (!ce_shape(env, argv, 11, T, "crossEntropyBackward", &a)) return nullptr;
  const double nv = static_cast<double>(a.N) * static_cast<double>(a.V);
  if (nv > static_cast<double>(Z.len) || nv > static_cast<double>(D.len))
    return throw_range(env, "crossEntropyBackward: logits or dlogits is too small for N x V");
  if (S.len < a.N) return throw_range(env, "crossEntropyBackward: lse holds fewer than N values");
  if (a.N > 0 && U.len < (stride == 0 ? 1 : a.N)) return throw_range(env, "crossEntropyBackward: up is too small");
  a.logits = Z.ptr;
  a.lse = S.ptr;
  a.up = U.ptr;
  a.upStride = static_cast<int64_t>(stride);
  a.dlogits = D.ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::cross_entropy_backward(a);
  }
  return nullptr;
}

// adamwUpdate(p, off, g, off, m, off, v, off, pOut, off, mOut, off, vOut, off, n, hyper)
// hyper = Float64Array [beta1, beta2, eps, stepSize, bc2Sqrt, decay]
napi_value AdamWUpdate(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 16) return throw_range(env, "adamwUpdate: expected 16 arguments");
  static const char* const names[7] = {"adamwUpdate p", "adamwUpdate g", "adamwUpdate m", "adamwUpdate v",
                                       "adamwUpdate pOut", "adamwUpdate mOut", "adamwUpdate vOut"};
  F32 b[7];
  std::string err;
  for (int i = 0; i < 7; i++)
    if (!get_f32(env, argv[2 * i], argv[2 * i + 1], names[i], &b[i], &err)) return throw_range(env, err);
  double n = 0;
  if (!get_number(env, argv[14], &n) || !is_count(n)) return throw_range(env, "adamwUpdate: n must be a non-negative integer");
  for (int i = 0; i < 7; i++)
    if (static_cast<double>(b[i].len) < n) return throw_range(env, std::string(names[i]) + " holds fewer than n values");
  std::vector<double> h;
  if (!get_int64_desc(env, argv[15], &h) || h.size() < 6) return throw_range(env, "adamwUpdate: hyper must be a Float64Array of 6 numbers");
  for (double x : h)
    if (!std::isfinite(x)) return throw_range(env, "adamwUpdate: hyper-parameters must be finite");
  ptflow::AdamWArgs a;
  a.n = static_cast<int64_t>(n);
  a.p = b[0].ptr;
  a.g = b[1].ptr;
  a.m = b[2].ptr;
  a.v = b[3].ptr;
  a.pOut = b[4].ptr;
  a.mOut = b[5].ptr;
  a.vOut = b[6].ptr;
  a.oneMinusBeta1 = static_cast<float>(1.0 - h[0]);
  a.beta2 = static_cast<float>(h[1]);
  a.oneMinusBeta2 = static_cast<float>(1.0 - h[1]);
  a.eps = static_cast<float>(h[2]);
  a.negStepSize = static_cast<float>(-h[3]);
  a.bc2Sqrt = static_cast<float>(h[4]);
  a.decay = static_cast<float>(h[5]);
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::adamw_update(a);
  }
  return nullptr;
}

// Reads desc = Float64Array [B, T, H, KV, d, scale] into `a`; false (after throwing) if bad.
bool attn_desc(napi_env env, napi_value v, const char* fn, ptflow::AttnArgs* a) {
  std::vector<double> d;
  if (!get_int64_desc(env, v, &d) || d.size() < 6) {
    throw_range(env, std::string(fn) + ": desc must be a Float64Array [B, T, H, KV, d, scale]");
    return false;
  }
  for (int i = 0; i < 5; i++) {
    if (!is_count(d[i]) || d[i] > 1.0e7) {
      throw_range(env, std::string(fn) + ": desc[" + std::to_string(i) + "] must be a non-negative integer");
      return false;
    }
  }
  a->B = static_cast<int64_t>(d[0]);
  a->T = static_cast<int64_t>(d[1]);
  a->H = static_cast<int64_t>(d[2]);
  a->KV = static_cast<int64_t>(d[3]);
  a->d = static_cast<int64_t>(d[4]);
  a->scale = static_cast<float>(d[5]);
  if (a->KV == 0 || a->H % a->KV != 0) {
    throw_range(env, std::string(fn) + ": H must be a positive multiple of KV");
    return false;
  }
  if (!std::isfinite(d[5])) {
    throw_range(env, std::string(fn) + ": scale must be finite");
    return false;
  }
  return true;
}

// Reads `count` (array, byteOffset) pairs from argv and checks each holds `need[i]` floats.
bool attn_buffers(napi_env env, napi_value* argv, int count, const char* const* names, const double* need, F32* out) {
  std::string err;
  for (int i = 0; i < count; i++) {
    if (!get_f32(env, argv[2 * i], argv[2 * i + 1], names[i], &out[i], &err)) {
      throw_range(env, err);
      return false;
    }
    if (static_cast<double>(out[i].len) < need[i]) {
      throw_range(env, std::string(names[i]) + " is too small for the attention shape");
      return false;
    }
  }
  return true;
}

// attnForward(q, off, k, off, v, off, mask, off, out, off, stats, off, desc)
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 13) return throw_range(env, "attnForward: expected 13 arguments");
  ptflow::AttnArgs a;
  if (!attn_desc(env, argv[12], "attnForward", &a)) return nullptr;
  const double BT = static_cast<double>(a.B) * a.T;
  const double need[6] = {BT * a.H * a.d, BT * a.KV * a.d, BT * a.KV * a.d, BT * a.T, BT * a.H * a.d, BT * a.H * 2};
  static const char* const names[6] = {"attnForward q", "attnForward k", "attnForward v",
                                       "attnForward mask", "attnForward out", "attnForward stats"};
  F32 b[6];
  if (!attn_buffers(env, argv, 6, names, need, b)) return nullptr;
  a.q = b[0].ptr;
  a.k = b[1].ptr;
  a.v = b[2].ptr;
  a.mask = b[3].ptr;
  a.out = b[4].ptr;
  a.stats = b[5].ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::attention_forward(a);
  }
  return nullptr;
}

// attnBackward(q, off, k, off, v, off, mask, off, stats, off, dout, off, dq, off, dk, off, dv, off, desc)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  size_t argc = 19;
  napi_value argv[19];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 19) return throw_range(env, "attnBackward: expected 19 arguments");
  ptflow::AttnArgs a;
  if (!attn_desc(env, argv[18], "attnBackward", &a)) return nullptr;
  const double BT = static_cast<double>(a.B) * a.T;
  const double qn = BT * a.H * a.d, kvn = BT * a.KV * a.d;
  const double need[9] = {qn, kvn, kvn, BT * a.T, BT * a.H * 2, qn, qn, kvn, kvn};
  static const char* const names[9] = {"attnBackward q",    "attnBackward k",    "attnBackward v",
                                       "attnBackward mask", "attnBackward stats", "attnBackward dout",
                                       "attnBackward dq",   "attnBackward dk",   "attnBackward dv"};
  F32 b[9];
  if (!attn_buffers(env, argv, 9, names, need, b)) return nullptr;
  a.q = b[0].ptr;
  a.k = b[1].ptr;
  a.v = b[2].ptr;
  a.mask = b[3].ptr;
  a.stats = b[4].ptr;
  a.dout = b[5].ptr;
  a.dq = b[6].ptr;
  a.dk = b[7].ptr;
  a.dv = b[8].ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::attention_backward(a);
  }
  return nullptr;
}

// Reads n, d at argv[i], argv[i+1].
bool rms_shape(napi_env env, napi_value* argv, size_t i, const char* fn, ptflow::RmsNormArgs* a) {
  double n = 0, d = 0;
  if (!get_number(env, argv[i], &n) || !get_number(env, argv[i + 1], &d) || !is_count(n) || !is_count(d)) {
    throw_range(env, std::string(fn) + ": n and d must be non-negative integers");
    return false;
  }
  a->n = static_cast<int64_t>(n);
  a->d = static_cast<int64_t>(d);
  return true;
}

// rmsnormForward(x, off, w, off, y, off, r, off, n, d, eps)
napi_value RmsNormForward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 11) return throw_range(env, "rmsnormForward: expected 11 arguments");
  ptflow::RmsNormArgs a;
  if (!rms_shape(env, argv, 8, "rmsnormForward", &a)) return nullptr;
  double eps = 0;
  if (!get_number(env, argv[10], &eps) || eps < 0) return throw_range(env, "rmsnormForward: eps must be a finite number >= 0");
  a.eps = static_cast<float>(eps);
  const double nd = static_cast<double>(a.n) * static_cast<double>(a.d);
  const double need[4] = {nd, static_cast<double>(a.d), nd, static_cast<double>(a.n)};
  static const char* const names[4] = {"rmsnormForward x", "rmsnormForward w", "rmsnormForward y", "rmsnormForward r"};
  F32 b[4];
  if (!attn_buffers(env, argv, 4, names, need, b)) return nullptr;
  a.x = b[0].ptr;
  a.w = b[1].ptr;
  a.y = b[2].ptr;
  a.r = b[3].ptr;
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::rmsnorm_forward(a);
  }
  return nullptr;
}

// rmsnormBackward(dy, off, x, off, w, off, r, off, dx, off, dw | null, off, n, d)
napi_value RmsNormBackward(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 14) return throw_range(env, "rmsnormBackward: expected 14 arguments");
  ptflow::RmsNormArgs a;
  if (!rms_shape(env, argv, 12, "rmsnormBackward", &a)) return nullptr;
  const double nd = static_cast<double>(a.n) * static_cast<double>(a.d);
  const double need[5] = {nd, nd, static_cast<double>(a.d), static_cast<double>(a.n), nd};
  static const char* const names[5] = {"rmsnormBackward dy", "rmsnormBackward x", "rmsnormBackward w", "rmsnormBackward r",
                                       "rmsnormBackward dx"};
  F32 b[5];
  if (!attn_buffers(env, argv, 5, names, need, b)) return nullptr;
  a.dy = b[0].ptr;
  a.x = b[1].ptr;
  a.w = b[2].ptr;
  a.r = b[3].ptr;
  a.dx = b[4].ptr;
  if (!is_nullish(env, argv[10])) {
    F32 dw;
    std::string err;
    if (!get_f32(env, argv[10], argv[11], "rmsnormBackward dw", &dw, &err)) return throw_range(env, err);
    if (dw.len < a.d) return throw_range(env, "rmsnormBackward dw is too small for d");
    a.dw = dw.ptr;
  }
  {
    ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
    ptflow::rmsnorm_backward(a);
  }
  return nullptr;
}

// rope(x, off, cos, off, sin, off, y, off, n, heads, d, inverse)
napi_value Rope(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 12) return throw_range(env, "rope: expected 12 arguments");
  double n = 0, heads = 0, d = 0;
  if (!get_number(env, argv[8], &n) || !get_number(env, argv[9], &heads) || !get_number(env, argv[10], &d) ||
      !is_count(n) || !is_count(heads) || !is_count(d) || static_cast<int64_t>(d) % 2 != 0)
    return throw_range(env, "rope: n, heads must be non-negative integers and d a non-negative even integer");
  bool inverse = false;
  if (napi_get_value_bool(env, argv[11], &inverse) != napi_ok) return throw_range(env, "rope: inverse must be a boolean");
  ptflow::RopeArgs a;
  a.n = static_cast<int64_t>(n);
  a.heads = static_cast<int64_t>(heads);
  a.d = static_cast<int64_t>(d);
  a.inverse = inverse;
  const double xs = n * heads * d, ts = n * d;
  const double need[4] = {xs, ts, ts, xs};
  static const char* const names[4] = {"rope x", "rope cos", "rope sin", "rope y"};
  F32 b[4];
  if (!attn_buffers(env, argv, 4, names, need, b)) return nullptr;
  a.x = b[0].ptr;
  a.cos = b[1].ptr;
  a.sin = b[2].ptr;
  a.y = b[3].ptr;
  ptflow::rope(a);
  return nullptr;
}

// swigluForward(g, off, u, off, y, off, n) and
// swigluBackward(g, off, u, off, dy, off, dg, off, du, off, n): n float32 elements each.
napi_value SwigluCall(napi_env env, napi_callback_info info, bool backward) {
  const char* fn = backward ? "swigluBackward" : "swigluForward";
  const int nbuf = backward ? 5 : 3;
  size_t argc = 11;
  napi_value argv[11];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < static_cast<size_t>(2 * nbuf + 1)) return throw_range(env, std::string(fn) + ": expected " + std::to_string(2 * nbuf + 1) + " arguments");
  double n = 0;
  if (!get_number(env, argv[2 * nbuf], &n) || !is_count(n)) return throw_range(env, std::string(fn) + ": n must be a non-negative integer");
  static const char* const fnames[3] = {"swigluForward g", "swigluForward u", "swigluForward y"};
  static const char* const bnames[5] = {"swigluBackward g", "swigluBackward u", "swigluBackward dy", "swigluBackward dg", "swigluBackward du"};
  const double need[5] = {n, n, n, n, n};
  F32 b[5];
  if (!attn_buffers(env, argv, nbuf, backward ? bnames : fnames, need, b)) return nullptr;
  ptflow::SwigluArgs a;
  a.n = static_cast<int64_t>(n);
  a.g = b[0].ptr;
  a.u = b[1].ptr;
  ptflow::DenormalGuard flush(ptflow::Subnormals::Flush);
  if (backward) {
    a.dy = b[2].ptr;
    a.dg = b[3].ptr;
    a.du = b[4].ptr;
    ptflow::swiglu_backward(a);
  } else {
    a.y = b[2].ptr;
    ptflow::swiglu_forward(a);
  }
  return nullptr;
}

napi_value SwigluForward(napi_env env, napi_callback_info info) { return SwigluCall(env, info, false); }
napi_value SwigluBackward(napi_env env, napi_callback_info info) { return SwigluCall(env, info, true); }

// ewBinary(op, a, off, b, off, out, off, n, aScalar, bScalar): out = a ∘ b over n float32
// elements, op 0..3 = + − × ÷; a scalar operand holds one element.
napi_value EwBinary(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 10) return throw_range(env, "ewBinary: expected 10 arguments");
  double op = 0, n = 0;
  if (!get_number(env, argv[0], &op) || !(op == 0 || op == 1 || op == 2 || op == 3)) return throw_range(env, "ewBinary: op must be 0, 1, 2 or 3");
  if (!get_number(env, argv[7], &n) || !is_count(n)) return throw_range(env, "ewBinary: n must be a non-negative integer");
  bool aScalar = false, bScalar = false;
  if (napi_get_value_bool(env, argv[8], &aScalar) != napi_ok || napi_get_value_bool(env, argv[9], &bScalar) != napi_ok)
    return throw_range(env, "ewBinary: aScalar and bScalar must be booleans");
  static const char* const names[3] = {"ewBinary a", "ewBinary b", "ewBinary out"};
  const double need[3] = {aScalar ? 1.0 : n, bScalar ? 1.0 : n, n};
  F32 b[3];
  if (!attn_buffers(env, argv + 1, 3, names, need, b)) return nullptr;
  ptflow::BinaryArgs a;
  a.op = static_cast<ptflow::BinaryOp>(static_cast<int>(op));
  a.a = b[0].ptr;
  a.b = b[1].ptr;
  a.out = b[2].ptr;
  a.n = static_cast<int64_t>(n);
  a.aScalar = aScalar;
  a.bScalar = bScalar;
  ptflow::binary(a);
  return nullptr;
}

// sumSquares(x, off, n) -> Σ x_i² over n float32 elements, summed in float64 (sumsq.h).
napi_value SumSquares(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 3) return throw_range(env, "sumSquares: expected 3 arguments");
  double n = 0;
  if (!get_number(env, argv[2], &n) || !is_count(n)) return throw_range(env, "sumSquares: n must be a non-negative integer");
  F32 x;
  std::string err;
  if (!get_f32(env, argv[0], argv[1], "sumSquares x", &x, &err)) return throw_range(env, err);
  if (static_cast<double>(x.len) < n) return throw_range(env, "sumSquares x is too small for n");
  const double s = ptflow::sum_squares(x.ptr, static_cast<int64_t>(n));
  napi_value out;
  CHECK_NAPI(env, napi_create_double(env, s, &out));
  return out;
}

// threadCpuNs() / processCpuNs(): CPU nanoseconds of the calling thread / of the whole process,
// exact to the call (clock_gettime brings the running thread's count up to date, where
// /proc/.../schedstat lags until the next tick or context switch). For benchmarks.
napi_value CpuClock(napi_env env, clockid_t id) {
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return throw_range(env, "cpu clock: clock_gettime failed");
  napi_value out;
  CHECK_NAPI(env, napi_create_double(env, static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec), &out));
  return out;
}
napi_value ThreadCpuNs(napi_env env, napi_callback_info) { return CpuClock(env, CLOCK_THREAD_CPUTIME_ID); }
napi_value ProcessCpuNs(napi_env env, napi_callback_info) { return CpuClock(env, CLOCK_PROCESS_CPUTIME_ID); }

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  double n = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &n) != napi_ok || !(n >= 1) || n != std::floor(n))
    return throw_range(env, "setNumThreads: expected an integer >= 1");
  ptflow::pool_set_threads(static_cast<int>(n > 256 ? 256 : n));
  return nullptr;
}

napi_value GetNumThreads(napi_env env, napi_callback_info) {
  napi_value out;
  CHECK_NAPI(env, napi_create_int32(env, ptflow::pool_threads(), &out));
  return out;
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char name[32] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok)
    return throw_range(env, "setIsa: expected a string");
  napi_value out;
  CHECK_NAPI(env, napi_get_boolean(env, ptflow::gemm_set_impl(name), &out));
  return out;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, isa, list, threads;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  const ptflow::GemmImpl* impl = ptflow::gemm_impl();
  CHECK_NAPI(env, napi_create_string_utf8(env, impl->name, NAPI_AUTO_LENGTH, &isa));
  const char* names[8];
  const int n = ptflow::gemm_available(names, 8);
  CHECK_NAPI(env, napi_create_array_with_length(env, n, &list));
  for (int i = 0; i < n; i++) {
    napi_value s;
    CHECK_NAPI(env, napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s));
    CHECK_NAPI(env, napi_set_element(env, list, i, s));
  }
  CHECK_NAPI(env, napi_create_int32(env, ptflow::pool_threads(), &threads));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "isa", isa));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "available", list));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "threads", threads));
  const ptflow::MallocTuning& m = ptflow::tune_malloc_once();
  napi_value tuned;
  if (m.applied) {
    napi_value mmap, trim;
    CHECK_NAPI(env, napi_create_object(env, &tuned));
    CHECK_NAPI(env, napi_create_int64(env, m.mmapThreshold, &mmap));
    CHECK_NAPI(env, napi_create_int64(env, m.trimThreshold, &trim));
    CHECK_NAPI(env, napi_set_named_property(env, tuned, "mmapThreshold", mmap));
    CHECK_NAPI(env, napi_set_named_property(env, tuned, "trimThreshold", trim));
  } else {
    CHECK_NAPI(env, napi_get_null(env, &tuned));
  }
  CHECK_NAPI(env, napi_set_named_property(env, obj, "malloc", tuned));
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  ptflow::tune_malloc_once();
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"crossEntropyForward", nullptr, CrossEntropyForward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"crossEntropyBackward", nullptr, CrossEntropyBackward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"adamwUpdate", nullptr, AdamWUpdate, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"attnForward", nullptr, AttentionForward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"attnBackward", nullptr, AttentionBackward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"rmsnormForward", nullptr, RmsNormForward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"rmsnormBackward", nullptr, RmsNormBackward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"swigluForward", nullptr, SwigluForward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"swigluBackward", nullptr, SwigluBackward, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"ewBinary", nullptr, EwBinary, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"sumSquares", nullptr, SumSquares, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"rope", nullptr, Rope, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"threadCpuNs", nullptr, ThreadCpuNs, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"processCpuNs", nullptr, ProcessCpuNs, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"setNumThreads", nullptr, SetNumThreads, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"getNumThreads", nullptr, GetNumThreads, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable), nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}
