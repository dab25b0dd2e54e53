/**
 * Loads the optional native kernel addon (`native/build/Release/ptflow_native.node`, built by
 * `native/build.js` at install) once per thread, and types its surface. `PTFLOW_NATIVE=0`
 * disables it; when it is absent or does not load, `loadNativeAddon()` says why and ptflow keeps
 * the stock TensorFlow.js kernels.
 */
import * as fs from 'fs';
import * as path from 'path';

/** What `gemm` computes is described by `GemmDesc` (see gemm.ts); these are the raw calls. */
export interface NativeAddon {
  /**
   * C[t] = act(op(A)[t] · op(B)[t] + bias) for t < batch. Every buffer is a TypedArray (any
   * element type, ArrayBuffer or SharedArrayBuffer) plus a byte offset. `desc` is
   * [batch, M, N, K, transA, transB, lda, ldb, ldc, strideA, strideB, strideC, biasMode,
   * activation, alpha]; `batchOffsets` (optional) gives [aOffset, bOffset] per batch item in
   * elements and overrides strideA/strideB.
   */
  gemm(
    a: ArrayBufferView,
    aByteOffset: number,
    b: ArrayBufferView,
    bByteOffset: number,
    c: ArrayBufferView,
    cByteOffset: number,
    desc: Float64Array,
    bias?: ArrayBufferView | null,
    biasByteOffset?: number,
    batchOffsets?: Float64Array | null,
  ): void;
  /**
   * Softmax cross-entropy over rows of `logits` [N, V] (float32, contiguous) against int32
   * `targets` [N]: `loss[i] = logsumexp(z_i) − z_i[t_i]` and `lse[i] = logsumexp(z_i)`
   * (both 0 where `t_i = ignoreIndex`). Throws a RangeError for a target outside [0, V).
   * Absent from addons built before it existed.
   */
  crossEntropyForward?(
    logits: ArrayBufferView,
    logitsByteOffset: number,
    targets: ArrayBufferView,
    targetsByteOffset: number,
    loss: ArrayBufferView,
    lossByteOffset: number,
    lse: ArrayBufferView,
    lseByteOffset: number,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  /**
   * `dlogits[i, j] = (exp(z_ij − lse_i) − [j = t_i]) · up[i · upStride]` (0 for ignored rows);
   * `upStride` 0 broadcasts one upstream value, 1 reads one per row.
   */
  crossEntropyBackward?(
    logits: ArrayBufferView,
    logitsByteOffset: number,
    targets: ArrayBufferView,
    targetsByteOffset: number,
    lse: ArrayBufferView,
    lseByteOffset: number,
    up: ArrayBufferView,
    upByteOffset: number,
    upStride: 0 | 1,
    dlogits: ArrayBufferView,
    dlogitsByteOffset: number,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  /**
   * Fused AdamW step over `n` float32 values: writes p', m', v' (see native/src/adamw.h);
   * `hyper` is [beta1, beta2, eps, stepSize, bc2Sqrt, decayFactor]. Absent from older addons.
   */
  adamwUpdate?(
    p: ArrayBufferView,
    pByteOffset: number,
    g: ArrayBufferView,
    gByteOffset: number,
    m: ArrayBufferView,
    mByteOffset: number,
    v: ArrayBufferView,
    vByteOffset: number,
    pOut: ArrayBufferView,
    pOutByteOffset: number,
    mOut: ArrayBufferView,
    mOutByteOffset: number,
    vOut: ArrayBufferView,
    vOutByteOffset: number,
    n: number,
    hyper: Float64Array,
  ): void;
  /**
   * Attention forward (see native/src/attention.h): q [B·T, H·d], k, v [B·T, KV·d], mask
   * [B, T, T] → out [B·T, H·d] and each row's softmax statistics [B, H, T, 2] (max, 1/sum);
   * `desc` is [B, T, H, KV, d, scale]. The probabilities are not written anywhere.
   */
  attnForward?(
    q: ArrayBufferView, qByteOffset: number,
    k: ArrayBufferView, kByteOffset: number,
    v: ArrayBufferView, vByteOffset: number,
    mask: ArrayBufferView, maskByteOffset: number,
    out: ArrayBufferView, outByteOffset: number,
    stats: ArrayBufferView, statsByteOffset: number,
    desc: Float64Array,
  ): void;
  /**
   * Attention backward: dq [B·T, H·d], dk, dv [B·T, KV·d] from q, k, v, the mask, the forward's
   * statistics and dOut (the probabilities are recomputed one block of query rows at a time).
   */
  attnBackward?(
    q: ArrayBufferView, qByteOffset: number,
    k: ArrayBufferView, kByteOffset: number,
    v: ArrayBufferView, vByteOffset: number,
    mask: ArrayBufferView, maskByteOffset: number,
    stats: ArrayBufferView, statsByteOffset: number,
    dout: ArrayBufferView, doutByteOffset: number,
    dq: ArrayBufferView, dqByteOffset: number,
    dk: ArrayBufferView, dkByteOffset: number,
    dv: ArrayBufferView, dvByteOffset: number,
    desc: Float64Array,
  ): void;
  /** RMSNorm forward over rows of x [n, d] with weight w [d]: y [n, d] and r [n] (1/rms). */
  rmsnormForward?(
    x: ArrayBufferView, xByteOffset: number,
    w: ArrayBufferView, wByteOffset: number,
    y: ArrayBufferView, yByteOffset: number,
    r: ArrayBufferView, rByteOffset: number,
    n: number, d: number, eps: number,
  ): void;
  /** RMSNorm backward: dx [n, d] and, unless `dw` is null, dw [d]. */
  rmsnormBackward?(
    dy: ArrayBufferView, dyByteOffset: number,
    x: ArrayBufferView, xByteOffset: number,
    w: ArrayBufferView, wByteOffset: number,
    r: ArrayBufferView, rByteOffset: number,
    dx: ArrayBufferView, dxByteOffset: number,
    dw: ArrayBufferView | null, dwByteOffset: number,
    n: number, d: number,
  ): void;
  /**
   * out = a ∘ b over n float32 elements (op 0..3: + − × ÷), either operand a one-element scalar;
   * threaded from 64k elements, subnormals kept (see native/src/elementwise.h).
   */
  ewBinary?(
    op: number,
    a: ArrayBufferView, aByteOffset: number,
    b: ArrayBufferView, bByteOffset: number,
    out: ArrayBufferView, outByteOffset: number,
    n: number, aScalar: boolean, bScalar: boolean,
  ): void;
  /** SwiGLU forward over n elements: y = silu(g)·u (see native/src/swiglu.h). */
  swigluForward?(
    g: ArrayBufferView, gByteOffset: number,
    u: ArrayBufferView, uByteOffset: number,
    y: ArrayBufferView, yByteOffset: number,
    n: number,
  ): void;
  /** SwiGLU backward over n elements: dg and du from g, u and dy. */
  swigluBackward?(
    g: ArrayBufferView, gByteOffset: number,
    u: ArrayBufferView, uByteOffset: number,
    dy: ArrayBufferView, dyByteOffset: number,
    dg: ArrayBufferView, dgByteOffset: number,
    du: ArrayBufferView, duByteOffset: number,
    n: number,
  ): void;
  /** RoPE (rotate-half) of x [n, heads, d] by cos, sin [n, d] into y; `inverse` applies its transpose. */
  rope?(
    x: ArrayBufferView, xByteOffset: number,
    cos: ArrayBufferView, cosByteOffset: number,
    sin: ArrayBufferView, sinByteOffset: number,
    y: ArrayBufferView, yByteOffset: number,
    n: number, heads: number, d: number, inverse: boolean,
  ): void;
  /**
   * Σ x_i² over n float32 elements, summed in float64 in an order fixed by n alone (blocks of
   * 16384, 16 lanes each: native/src/sumsq.h), so the result is the same for any thread count.
   */
  sumSquares?(x: ArrayBufferView, xByteOffset: number, n: number): number;
  /** CPU nanoseconds of the calling thread, exact to the call (CLOCK_THREAD_CPUTIME_ID); for benchmarks. */
  threadCpuNs?(): number;
  /** CPU nanoseconds of the whole process (CLOCK_PROCESS_CPUTIME_ID); for benchmarks. */
  processCpuNs?(): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Selects an instruction-set path by name if this CPU runs it (process-wide). */
  setIsa(name: string): boolean;
  /**
   * `malloc`: the glibc settings the addon applied when it loaded (native/src/malloc_tuning.cc), or
   * null when it left malloc alone (not glibc; GLIBC_TUNABLES, MALLOC_MMAP_THRESHOLD_ or
   * MALLOC_TRIM_THRESHOLD_ set; PTFLOW_MALLOC=default). Absent from an addon built before it existed.
   */
  info(): { isa: string; available: string[]; threads: number; malloc?: { mmapThreshold: number; trimThreshold: number } | null };
}

export type NativeLoad = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

const ADDON_RELATIVE = path.join('native', 'build', 'Release', 'ptflow_native.node');

/** The package root: the nearest ancestor of this file holding native/binding.gyp. */
function packageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Where the addon is looked for (the build output inside the package). */
export function defaultAddonPath(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, ADDON_RELATIVE);
}

let cached: NativeLoad | undefined;
let pathOverride: string | undefined;
let warned = false;

function isAddon(x: unknown): x is NativeAddon {
  const o = x as Partial<NativeAddon> | null;
  return (
    o != null &&
    typeof o.gemm === 'function' &&
    typeof o.setNumThreads === 'function' &&
    typeof o.getNumThreads === 'function' &&
    typeof o.setIsa === 'function' &&
    typeof o.info === 'function'
  );
}

function load(): NativeLoad {
  if (process.env['PTFLOW_NATIVE'] === '0') return { ok: false, reason: 'disabled (PTFLOW_NATIVE=0)' };
  const file = pathOverride ?? defaultAddonPath();
  if (file === undefined || !fs.existsSync(file)) {
    return {
      ok: false,
      reason: `addon not built (${file ?? ADDON_RELATIVE} missing; run \`node native/build.js\`)`,
    };
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod: unknown = require(file);
    if (!isAddon(mod)) return { ok: false, reason: `${file} is not the ptflow native addon` };
    return { ok: true, addon: mod };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { ok: false, reason: `addon does not load: ${msg}` };
  }
}

/**
 * The addon, loaded on first use. When it is unavailable for a reason other than
 * PTFLOW_NATIVE=0, one line says so on stderr (once per thread).
 */
export function loadNativeAddon(): NativeLoad {
  if (cached === undefined) {
    cached = load();
    if (!cached.ok && !warned && process.env['PTFLOW_NATIVE'] !== '0') {
      warned = true;
      process.stderr.write(`ptflow: native kernels unavailable (${cached.reason}); using stock TensorFlow.js kernels\n`);
    }
  }
  return cached;
}

/**
 * Forget the loaded state and optionally look for the addon at another path (tests use a path
 * that does not exist to exercise the fallback). Does not unregister kernels.
 */
export function resetNativeAddon(options: { path?: string } = {}): void {
  cached = undefined;
  pathOverride = options.path;
}
