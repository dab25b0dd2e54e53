/**
 * Softmax cross-entropy per row as one fused native kernel pair (forward: loss and logsumexp
 * per row; backward: `(softmax − onehot) · upstream`), registered under TensorFlow.js as
 * `PtflowCrossEntropy` / `PtflowCrossEntropyGrad` for the wasm and cpu backends (zero-copy on
 * the wasm heap / the cpu backend's arrays) and wrapped in a custom gradient. Where the addon
 * or those backends are absent, the same op runs on stock TensorFlow.js ops.
 *
 *   softmaxCrossEntropy(logits [N, V], targets [N])   -> per-row losses [N] (0 where −100)
 *   softmaxCrossEntropySum(logits, targets)           -> their sum (a scalar)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

import { IGNORE_INDEX } from '../../../schemas/train-batch';

export const CE_IGNORE_INDEX = IGNORE_INDEX;
export const CE_FORWARD_KERNEL = 'PtflowCrossEntropy';
export const CE_BACKWARD_KERNEL = 'PtflowCrossEntropyGrad';

type Backend = 'wasm' | 'cpu';
const ADAPTERS: Record<Backend, BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

type CeAddon = NativeAddon & Required<Pick<NativeAddon, 'crossEntropyForward' | 'crossEntropyBackward'>>;

function ceAddon(): CeAddon | undefined {
  const load = loadNativeAddon();
  if (!load.ok) return undefined;
  const a = load.addon;
  return typeof a.crossEntropyForward === 'function' && typeof a.crossEntropyBackward === 'function' ? (a as CeAddon) : undefined;
}

function addonOrThrow(kernel: string): CeAddon {
  const a = ceAddon();
  if (a === undefined) throw new PtflowError(`${kernel}: the native addon with cross-entropy kernels is not loaded`);
  return a;
}

function forwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { logits, targets } = inputs as { logits: TensorInfo; targets: TensorInfo };
    const [N, V] = logits.shape;
    const ignore = Number(attrs?.['ignoreIndex'] ?? CE_IGNORE_INDEX);
    const addon = addonOrThrow(CE_FORWARD_KERNEL);
    return adapter.withOutputs(backend, [[N], [N]], [logits, targets], ([z, t], [loss, lse]) => {
      addon.crossEntropyForward(z.array, z.byteOffset, t.array, t.byteOffset, loss.array, loss.byteOffset, lse.array, lse.byteOffset, N, V, ignore);
    });
  };
}

function backwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { logits, targets, lse, dy } = inputs as { logits: TensorInfo; targets: TensorInfo; lse: TensorInfo; dy: TensorInfo };
    const [N, V] = logits.shape;
    const ignore = Number(attrs?.['ignoreIndex'] ?? CE_IGNORE_INDEX);
    const stride: 0 | 1 = dy.shape.reduce((p, d) => p * d, 1) === 1 && N !== 1 ? 0 : 1;
    const addon = addonOrThrow(CE_BACKWARD_KERNEL);
    return adapter.withOutputs(backend, [[N, V]], [logits, targets, lse, dy], ([z, t, s, u], [d]) => {
      addon.crossEntropyBackward(z.array, z.byteOffset, t.array, t.byteOffset, s.array, s.byteOffset, u.array, u.byteOffset, stride, d.array, d.byteOffset, N, V, ignore);
    });
  };
}

const registered = new Set<Backend>();

/** Registers the two kernels for `backend` once; false where they cannot run. */
function ensureKernels(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  if (registered.has(backend) && tf.getKernel(CE_FORWARD_KERNEL, backend) !== undefined) return true;
  const adapter = ADAPTERS[backend];
  for (const [name, fn] of [
    [CE_FORWARD_KERNEL, forwardKernel(adapter)],
    [CE_BACKWARD_KERNEL, backwardKernel(adapter)],
  ] as const) {
    if (tf.getKernel(name, backend) === undefined) tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc: fn });
  }
  registered.add(backend);
  return true;
}

/** Whether `softmaxCrossEntropy` runs natively on the current backend. */
export function nativeCrossEntropyAvailable(): boolean {
  const backend = tf.getBackend();
  return (backend === 'wasm' || backend === 'cpu') && ceAddon() !== undefined;
}

/** Targets as int32, checked: an integer in [0, V) or the ignore index. */
function checkedTargets(targets: ArrayLike<number>, N: number, V: number, ignore: number): Int32Array {
  if (targets.length !== N) {
    throw new PtflowError(`cross-entropy: ${targets.length} targets for logits with ${N} rows`);
  }
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t !== ignore && !(Number.isInteger(t) && t >= 0 && t < V)) {
      throw new PtflowError(`cross-entropy: target ${t} of row ${i} is outside the vocabulary [0, ${V})`);
    }
    out[i] = t;
  }
  return out;
}

type Grad = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor;
type Forward = (z: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: Grad };

/** `tf.customGrad` over one input. */
function oneInputOp(f: Forward): (z: tf.Tensor) => tf.Tensor {
  const g = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => f(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc));
  return (z) => g(z);
}

/** Per-row losses, or their sum when `sum` (the upstream gradient is then one value). */
function nativeOp(logits: tf.Tensor2D, t: Int32Array, ignore: number, sum: boolean): tf.Tensor {
  const attrs = { ignoreIndex: ignore };
  const op = oneInputOp((z, save) => {
    const targets = tf.tensor1d(t, 'int32');
    const [loss, lse] = tf.engine().runKernel(CE_FORWARD_KERNEL, { logits: z, targets }, attrs) as tf.Tensor[];
    save([z, targets, lse]);
    const gradFunc: Grad = (dy, [sz, st, slse]) =>
      tf.engine().runKernel(CE_BACKWARD_KERNEL, { logits: sz, targets: st, lse: slse, dy }, attrs) as tf.Tensor;
    return { value: sum ? tf.sum(loss) : loss, gradFunc };
  });
  return op(logits);
}

/** The same op on stock TensorFlow.js ops (no addon, or a backend without the kernels). */
function stockOp(logits: tf.Tensor2D, t: Int32Array, ignore: number, sum: boolean): tf.Tensor {
  const [N, V] = logits.shape;
  const weights = new Float32Array(N);
  const safe = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    if (t[i] !== ignore) {
      weights[i] = 1;
      safe[i] = t[i];
    }
  }
  const op = oneInputOp((z, save) => {
    const z2 = z as tf.Tensor2D;
    const w = tf.tensor1d(weights);
    const idx = tf.tensor1d(safe, 'int32');
    const m = tf.max(z2, 1, true);
    const e = tf.exp(tf.sub(z2, m));
    const s = tf.sum(e, 1, true);
    const lse = tf.reshape(tf.add(tf.log(s), m), [N]);
    const pairs = tf.stack([tf.range(0, N, 1, 'int32'), idx], 1);
    const picked = tf.gatherND(z2, pairs);
    save([e, s, w, pairs]);
    const gradFunc: Grad = (dy, [se, ss, sw, spairs]) => {
      const up = tf.reshape(tf.mul(tf.broadcastTo(dy, [N]), sw), [N, 1]);
      return tf.mul(tf.sub(tf.div(se, ss), tf.scatterND(spairs, tf.ones([N]), [N, V])), up);
    };
    const rows = tf.mul(tf.sub(lse, picked), w);
    return { value: sum ? tf.sum(rows) : rows, gradFunc };
  });
  return op(logits);
}

function checked(logits: tf.Tensor2D, targets: ArrayLike<number>, ignoreIndex: number): Int32Array {
  if (logits.rank !== 2) throw new PtflowError(`cross-entropy: logits must be 2-D [N, V], got [${logits.shape.join(', ')}]`);
  if (logits.dtype !== 'float32') throw new PtflowError(`cross-entropy: logits must be float32, got ${logits.dtype}`);
  return checkedTargets(targets, logits.shape[0], logits.shape[1], ignoreIndex);
}

function dispatch(logits: tf.Tensor2D, targets: ArrayLike<number>, ignoreIndex: number, sum: boolean): tf.Tensor {
  const t = checked(logits, targets, ignoreIndex);
  if (nativeCrossEntropyAvailable() && ensureKernels(tf.getBackend())) return nativeOp(logits, t, ignoreIndex, sum);
  return stockOp(logits, t, ignoreIndex, sum);
}

/**
 * Per-row softmax cross-entropy of `logits` [N, V] against `targets` (N integers in [0, V), or
 * `ignoreIndex` for rows that count 0 and get no gradient). Differentiable with respect to
 * `logits`. A target out of range is a PtflowError naming its row.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: ArrayLike<number>, ignoreIndex = CE_IGNORE_INDEX): tf.Tensor1D {
  return dispatch(logits, targets, ignoreIndex, false) as tf.Tensor1D;
}

/** Sum of `softmaxCrossEntropy` over the rows (the model's loss sum), one op with its own gradient. */
export function softmaxCrossEntropySum(logits: tf.Tensor2D, targets: ArrayLike<number>, ignoreIndex = CE_IGNORE_INDEX): tf.Scalar {
  return dispatch(logits, targets, ignoreIndex, true) as tf.Scalar;
}

/** `softmaxCrossEntropy` always on stock TensorFlow.js ops (the fallback; tests compare). */
export function stockSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: ArrayLike<number>, ignoreIndex = CE_IGNORE_INDEX): tf.Tensor1D {
  return stockOp(logits, checked(logits, targets, ignoreIndex), ignoreIndex, false) as tf.Tensor1D;
}

/**
 * Σ of the row losses of `logits` [N, V] and their gradient for an upstream gradient of 1, both
 * at once and outside any tape (for ops that form the gradient themselves, e.g. the chunked head
 * in ops/head-cross-entropy.ts). Native kernels where they run; stock ops otherwise.
 */
export function crossEntropySumAndGrad(
  logits: tf.Tensor2D,
  targets: ArrayLike<number>,
  ignoreIndex = CE_IGNORE_INDEX,
): { loss: tf.Scalar; dLogits: tf.Tensor2D } {
  const t = checked(logits, targets, ignoreIndex);
  const [N, V] = logits.shape;
  return tf.tidy(() => {
    const tt = tf.tensor1d(t, 'int32');
    if (nativeCrossEntropyAvailable() && ensureKernels(tf.getBackend())) {
      const attrs = { ignoreIndex };
      const [loss, lse] = tf.engine().runKernel(CE_FORWARD_KERNEL, { logits, targets: tt }, attrs) as tf.Tensor[];
      const out = tf.engine().runKernel(CE_BACKWARD_KERNEL, { logits, targets: tt, lse, dy: tf.ones([N]) }, attrs) as tf.Tensor2D | tf.Tensor2D[];
      const dLogits = Array.isArray(out) ? out[0] : out;
      return { loss: tf.sum(loss) as tf.Scalar, dLogits };
    }
    const w = new Float32Array(N);
    const safe = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      if (t[i] !== ignoreIndex) {
        w[i] = 1;
        safe[i] = t[i];
      }
    }
    const wt = tf.tensor2d(w, [N, 1]);
    const m = tf.max(logits, 1, true);
    const e = tf.exp(tf.sub(logits, m));
    const s = tf.sum(e, 1, true);
    const lse = tf.add(tf.log(s), m);
    const pairs = tf.stack([tf.range(0, N, 1, 'int32'), tf.tensor1d(safe, 'int32')], 1);
    const picked = tf.reshape(tf.gatherND(logits, pairs), [N, 1]);
    const loss = tf.sum(tf.mul(tf.sub(lse, picked), wt)) as tf.Scalar;
    const dLogits = tf.mul(tf.sub(tf.div(e, s), tf.scatterND(pairs, tf.ones([N]), [N, V])), wt) as tf.Tensor2D;
    return { loss, dLogits };
  });
}
