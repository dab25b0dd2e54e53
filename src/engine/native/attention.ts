/**
 * Grouped-query causal self-attention of one layer as one fused native kernel pair
 * (`PtflowAttention` / `PtflowAttentionGrad`, wasm and cpu backends, zero-copy), wrapped in a
 * custom gradient: the layout and formulas of `src/engine/ops/attention.ts` (q [B·T, H·d],
 * k, v [B·T, KV·d], one additive [T, T] mask per batch row), without the per-head slices,
 * small products and element-wise kernels, and without keeping the [B, H, T, T] probabilities
 * for the backward pass: the forward saves each row's softmax max and 1/sum, the backward
 * recomputes the probabilities from the scores (bitwise the forward's). `nativeAttention` returns null where it cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

export const ATTENTION_KERNEL = 'PtflowAttention';
export const ATTENTION_GRAD_KERNEL = 'PtflowAttentionGrad';

export interface NativeAttentionShape {
  batchSize: number;
  seqLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

type AttnAddon = NativeAddon & Required<Pick<NativeAddon, 'attnForward' | 'attnBackward'>>;

function attnAddon(): AttnAddon | undefined {
  const load = loadNativeAddon();
  if (!load.ok) return undefined;
  const a = load.addon;
  return typeof a.attnForward === 'function' && typeof a.attnBackward === 'function' ? (a as AttnAddon) : undefined;
}

function addonOrThrow(kernel: string): AttnAddon {
  const a = attnAddon();
  if (a === undefined) throw new PtflowError(`${kernel}: the native addon with attention kernels is not loaded`);
  return a;
}

const desc = new Float64Array(6);

function fillDesc(attrs: unknown): void {
  const s = attrs as NativeAttentionShape & { scale: number };
  desc[0] = s.batchSize;
  desc[1] = s.seqLen;
  desc[2] = s.heads;
  desc[3] = s.kvHeads;
  desc[4] = s.headDim;
  desc[5] = s.scale;
}

function forwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { q, k, v, mask } = inputs as { q: TensorInfo; k: TensorInfo; v: TensorInfo; mask: TensorInfo };
    const s = attrs as unknown as NativeAttentionShape;
    const addon = addonOrThrow(ATTENTION_KERNEL);
    const statsShape = [s.batchSize, s.heads, s.seqLen, 2];
    return adapter.withOutputs(backend, [q.shape, statsShape], [q, k, v, mask], ([rq, rk, rv, rm], [out, stats]) => {
      fillDesc(attrs);
      addon.attnForward(rq.array, rq.byteOffset, rk.array, rk.byteOffset, rv.array, rv.byteOffset, rm.array, rm.byteOffset, out.array, out.byteOffset, stats.array, stats.byteOffset, desc);
    });
  };
}

function backwardKernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { q, k, v, mask, stats, dy } = inputs as Record<'q' | 'k' | 'v' | 'mask' | 'stats' | 'dy', TensorInfo>;
    const addon = addonOrThrow(ATTENTION_GRAD_KERNEL);
    return adapter.withOutputs(backend, [q.shape, k.shape, v.shape], [q, k, v, mask, stats, dy], ([rq, rk, rv, rm, rs, rd], [dq, dk, dv]) => {
      fillDesc(attrs);
      addon.attnBackward(rq.array, rq.byteOffset, rk.array, rk.byteOffset, rv.array, rv.byteOffset, rm.array, rm.byteOffset, rs.array, rs.byteOffset, rd.array, rd.byteOffset, dq.array, dq.byteOffset, dk.array, dk.byteOffset, dv.array, dv.byteOffset, desc);
    });
  };
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

function ensureKernels(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  const adapter = ADAPTERS[backend];
  if (tf.getKernel(ATTENTION_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: ATTENTION_KERNEL, backendName: backend, kernelFunc: forwardKernel(adapter) });
  }
  if (tf.getKernel(ATTENTION_GRAD_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: ATTENTION_GRAD_KERNEL, backendName: backend, kernelFunc: backwardKernel(adapter) });
  }
  return true;
}

/**
 * softmax(q·kᵀ/√d + mask)·v per (batch row, head) as one op differentiable in q, k and v, or
 * null where the native kernels cannot run (no addon, other backend, not float32). Shapes are
 * checked: a mismatch is a PtflowError naming the tensor.
 */
export function nativeAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  masks: tf.Tensor2D[],
  s: NativeAttentionShape,
): tf.Tensor2D | null {
  if (attnAddon() === undefined || !ensureKernels(tf.getBackend())) return null;
  if ([q, k, v, ...masks].some((t) => t.dtype !== 'float32')) return null;
  const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
  const expect = (name: string, t: tf.Tensor, shape: number[]): void => {
    if (t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i])) {
      throw new PtflowError(`attention: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  };
  if (!(KV > 0 && H % KV === 0)) throw new PtflowError(`attention: ${H} heads are not a multiple of ${KV} kv heads`);
  expect('q', q, [B * T, H * d]);
  expect('k', k, [B * T, KV * d]);
  expect('v', v, [B * T, KV * d]);
  if (masks.length !== B) throw new PtflowError(`attention: ${masks.length} masks for ${B} batch rows`);
  masks.forEach((m, i) => expect(`mask ${i}`, m, [T, T]));
  const attrs = { ...s, scale: 1 / Math.sqrt(d) };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qi, ki, vi] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mask = masks.length === 1 ? masks[0] : tf.stack(masks);
    const [out, stats] = tf.engine().runKernel(ATTENTION_KERNEL, { q: qi, k: ki, v: vi, mask }, attrs) as tf.Tensor[];
    // Kept for the backward pass: the inputs, the mask and 2 floats per (row, head, query); the
    // probabilities are recomputed there.
    save([qi, ki, vi, mask, stats]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, [sq, sk, sv, sm, ss]: tf.Tensor[]) =>
        tf.engine().runKernel(ATTENTION_GRAD_KERNEL, { q: sq, k: sk, v: sv, mask: sm, stats: ss, dy }, attrs) as tf.Tensor[],
    };
  });
  return op(q, k, v) as tf.Tensor2D;
}
