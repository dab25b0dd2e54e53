/**
 * One fused native AdamW step for a parameter tensor: the kernel `PtflowAdamW` (wasm and cpu
 * backends, zero-copy) reads p, g, m, v once and returns p', m', v' with the formulas of
 * `src/engine/optim/adamw.ts` (torch.optim.AdamW), in place of ~10 stock element-wise kernels.
 * `nativeAdamWUpdate` returns null where it cannot run (no addon, other backend, not float32),
 * and the caller keeps its stock path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

export const ADAMW_KERNEL = 'PtflowAdamW';

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β1ᵗ) */
  stepSize: number;
  /** √(1 − β2ᵗ) */
  bc2Sqrt: number;
  /** 1 − lr·weightDecay, or 1 without decay */
  decay: number;
}

type AdamWAddon = NativeAddon & Required<Pick<NativeAddon, 'adamwUpdate'>>;

function adamwAddon(): AdamWAddon | undefined {
  const load = loadNativeAddon();
  return load.ok && typeof load.addon.adamwUpdate === 'function' ? (load.addon as AdamWAddon) : undefined;
}

const hyper = new Float64Array(6);

function kernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { p, g, m, v } = inputs as { p: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };
    const addon = adamwAddon();
    if (addon === undefined) throw new PtflowError(`${ADAMW_KERNEL}: the native addon with the AdamW kernel is not loaded`);
    const a = (attrs ?? {}) as unknown as AdamWHyper;
    const n = p.shape.reduce((x, d) => x * d, 1);
    return adapter.withOutputs(backend, [p.shape, p.shape, p.shape], [p, g, m, v], ([rp, rg, rm, rv], [op, om, ov]) => {
      hyper[0] = a.beta1;
      hyper[1] = a.beta2;
      hyper[2] = a.eps;
      hyper[3] = a.stepSize;
      hyper[4] = a.bc2Sqrt;
      hyper[5] = a.decay;
      addon.adamwUpdate(rp.array, rp.byteOffset, rg.array, rg.byteOffset, rm.array, rm.byteOffset, rv.array, rv.byteOffset, op.array, op.byteOffset, om.array, om.byteOffset, ov.array, ov.byteOffset, n, hyper);
    });
  };
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

function ensureKernel(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  if (tf.getKernel(ADAMW_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: backend, kernelFunc: kernel(ADAPTERS[backend]) });
  }
  return true;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * p', m', v' for one AdamW step of parameter `p` with gradient `g` and moments `m`, `v` (new
 * tensors; the caller assigns them), or null where the native kernel cannot run.
 */
export function nativeAdamWUpdate(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  h: AdamWHyper,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } | null {
  const backend = tf.getBackend();
  if (adamwAddon() === undefined || !ensureKernel(backend)) return null;
  const all = [p, g, m, v];
  if (all.some((t) => t.dtype !== 'float32' || !sameShape(t.shape, p.shape))) return null;
  const [np, nm, nv] = tf.engine().runKernel(ADAMW_KERNEL, { p, g, m, v }, { ...h }) as tf.Tensor[];
  return { p: np, m: nm, v: nv };
}
