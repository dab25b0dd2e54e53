/**
 * The SwiGLU gate `silu(g) · u` as one fused native kernel pair (`PtflowSwiglu` /
 * `PtflowSwigluGrad`, wasm and cpu backends, zero-copy) with a custom gradient: the formulas of
 * `src/engine/ops/swiglu.ts` in one pass each way. Only g and u are kept for the backward pass
 * (the stock form also keeps σ(g), and its backward makes ~8 [tokens, intermediate] temporaries).
 * `nativeSiluMul` returns null where it cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

export const SWIGLU_KERNEL = 'PtflowSwiglu';
export const SWIGLU_GRAD_KERNEL = 'PtflowSwigluGrad';

type SwigluAddon = NativeAddon & Required<Pick<NativeAddon, 'swigluForward' | 'swigluBackward'>>;

function swigluAddon(): SwigluAddon | undefined {
  const load = loadNativeAddon();
  if (!load.ok) return undefined;
  const a = load.addon;
  return typeof a.swigluForward === 'function' && typeof a.swigluBackward === 'function' ? (a as SwigluAddon) : undefined;
}

function addonOrThrow(kernel: string): SwigluAddon {
  const a = swigluAddon();
  if (a === undefined) throw new PtflowError(`${kernel}: the native addon with SwiGLU kernels is not loaded`);
  return a;
}

const size = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);

function forwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend }) => {
    const { g, u } = inputs as { g: TensorInfo; u: TensorInfo };
    const addon = addonOrThrow(SWIGLU_KERNEL);
    return adapter.withOutputs(backend, [g.shape], [g, u], ([rg, ru], [y]) => {
      addon.swigluForward(rg.array, rg.byteOffset, ru.array, ru.byteOffset, y.array, y.byteOffset, size(g));
    })[0];
  };
}

function backwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend }) => {
    const { g, u, dy } = inputs as { g: TensorInfo; u: TensorInfo; dy: TensorInfo };
    const addon = addonOrThrow(SWIGLU_GRAD_KERNEL);
    return adapter.withOutputs(backend, [g.shape, u.shape], [g, u, dy], ([rg, ru, rd], [dg, du]) => {
      addon.swigluBackward(rg.array, rg.byteOffset, ru.array, ru.byteOffset, rd.array, rd.byteOffset, dg.array, dg.byteOffset, du.array, du.byteOffset, size(g));
    });
  };
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

function ensureKernels(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  const adapter = ADAPTERS[backend];
  if (tf.getKernel(SWIGLU_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: SWIGLU_KERNEL, backendName: backend, kernelFunc: forwardKernel(adapter) });
  }
  if (tf.getKernel(SWIGLU_GRAD_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: SWIGLU_GRAD_KERNEL, backendName: backend, kernelFunc: backwardKernel(adapter) });
  }
  return true;
}

/**
 * `silu(g) · u` for `g`, `u` of one shape, differentiable in both; null where the native kernels
 * cannot run (no addon, other backend, not float32). Mismatched shapes are a PtflowError.
 */
export function nativeSiluMul(g: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D | null {
  if (swigluAddon() === undefined || !ensureKernels(tf.getBackend())) return null;
  if (g.dtype !== 'float32' || u.dtype !== 'float32') return null;
  if (g.rank !== u.rank || g.shape.some((x, i) => x !== u.shape[i])) {
    throw new PtflowError(`swiglu: gate [${g.shape.join(', ')}] and up [${u.shape.join(', ')}] differ in shape`);
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [gi, ui] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const y = tf.engine().runKernel(SWIGLU_KERNEL, { g: gi, u: ui }, {}) as tf.Tensor;
    save([gi, ui]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [sg, su]: tf.Tensor[]) => tf.engine().runKernel(SWIGLU_GRAD_KERNEL, { g: sg, u: su, dy }, {}) as tf.Tensor[],
    };
  });
  return op(g, u) as tf.Tensor2D;
}
