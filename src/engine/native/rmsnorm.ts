/**
 * RMSNorm over the last axis as one fused native kernel pair (`PtflowRmsNorm` /
 * `PtflowRmsNormGrad`, wasm and cpu backends, zero-copy) with a custom gradient: the formulas of
 * `src/engine/ops/rmsnorm.ts` (HF LlamaRMSNorm in float32) in one pass each way instead of
 * ~12 element-wise kernels, several of them broadcasting. `nativeRmsNorm` returns null where it
 * cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

export const RMSNORM_KERNEL = 'PtflowRmsNorm';
export const RMSNORM_GRAD_KERNEL = 'PtflowRmsNormGrad';

type RmsAddon = NativeAddon & Required<Pick<NativeAddon, 'rmsnormForward' | 'rmsnormBackward'>>;

function rmsAddon(): RmsAddon | undefined {
  const load = loadNativeAddon();
  if (!load.ok) return undefined;
  const a = load.addon;
  return typeof a.rmsnormForward === 'function' && typeof a.rmsnormBackward === 'function' ? (a as RmsAddon) : undefined;
}

function addonOrThrow(kernel: string): RmsAddon {
  const a = rmsAddon();
  if (a === undefined) throw new PtflowError(`${kernel}: the native addon with RMSNorm kernels is not loaded`);
  return a;
}

function forwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, w } = inputs as { x: TensorInfo; w: TensorInfo };
    const [n, d] = x.shape;
    const eps = Number(attrs?.['eps']);
    const addon = addonOrThrow(RMSNORM_KERNEL);
    return adapter.withOutputs(backend, [[n, d], [n]], [x, w], ([rx, rw], [y, r]) => {
      addon.rmsnormForward(rx.array, rx.byteOffset, rw.array, rw.byteOffset, y.array, y.byteOffset, r.array, r.byteOffset, n, d, eps);
    });
  };
}

function backwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x, w, r } = inputs as { dy: TensorInfo; x: TensorInfo; w: TensorInfo; r: TensorInfo };
    const [n, d] = x.shape;
    const withW = attrs?.['weightGrad'] === true;
    const addon = addonOrThrow(RMSNORM_GRAD_KERNEL);
    const shapes = withW ? [[n, d], [d]] : [[n, d]];
    return adapter.withOutputs(backend, shapes, [dy, x, w, r], ([rdy, rx, rw, rr], [dx, dw]) => {
      addon.rmsnormBackward(rdy.array, rdy.byteOffset, rx.array, rx.byteOffset, rw.array, rw.byteOffset, rr.array, rr.byteOffset, dx.array, dx.byteOffset, dw?.array ?? null, dw?.byteOffset ?? 0, n, d);
    });
  };
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

function ensureKernels(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  const adapter = ADAPTERS[backend];
  if (tf.getKernel(RMSNORM_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: RMSNORM_KERNEL, backendName: backend, kernelFunc: forwardKernel(adapter) });
  }
  if (tf.getKernel(RMSNORM_GRAD_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: RMSNORM_GRAD_KERNEL, backendName: backend, kernelFunc: backwardKernel(adapter) });
  }
  return true;
}

/**
 * `x · rsqrt(mean(x², last axis) + eps) · w` for `x` [n, d], `w` [d], differentiable in `x`
 * and (when `trainable`) in `w`; null where the native kernels cannot run.
 */
export function nativeRmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number, trainable = true): tf.Tensor2D | null {
  if (rmsAddon() === undefined || !ensureKernels(tf.getBackend())) return null;
  if (x.dtype !== 'float32' || w.dtype !== 'float32') return null;
  if (x.rank !== 2 || w.rank !== 1 || w.shape[0] !== x.shape[1]) {
    throw new PtflowError(`rmsNorm: x [${x.shape.join(', ')}] and weight [${w.shape.join(', ')}] do not match (expected [n, d] and [d])`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new PtflowError(`rmsNorm: eps must be a finite number >= 0, got ${eps}`);
  const forward = (xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, r] = tf.engine().runKernel(RMSNORM_KERNEL, { x: xi, w: wi }, { eps }) as tf.Tensor[];
    save([xi, wi, r]);
    return y;
  };
  const grad = (dy: tf.Tensor, [sx, sw, sr]: tf.Tensor[]) =>
    tf.engine().runKernel(RMSNORM_GRAD_KERNEL, { dy, x: sx, w: sw, r: sr }, { weightGrad: trainable }) as tf.Tensor[];
  if (trainable) {
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xi, wi] = args as tf.Tensor[];
      return { value: forward(xi, wi, args[2] as tf.GradSaveFunc), gradFunc: grad };
    });
    return op(x, w) as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: forward(args[0] as tf.Tensor, w, args[1] as tf.GradSaveFunc),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy, saved)[0],
  }));
  return op(x) as tf.Tensor2D;
}
