/**
 * Gradient clipping by global L2 norm, as `torch.nn.utils.clip_grad_norm_` (norm_type 2):
 * norm = √(Σ over all gradients of Σ g²); coef = maxNorm / (norm + 1e-6), clamped to 1; every
 * gradient is scaled by coef. The norm returned is the one before clipping. `maxNorm ≤ 0`
 * disables clipping but the norm is still computed (HF logs it as `grad_norm`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive, nativeSumOfSquares } from '../native';

export interface ClipResult {
  /** Gradients after clipping. Owns its tensors: inputs that were replaced have been disposed. */
  grads: Map<string, tf.Tensor>;
  /** Global L2 norm before clipping (may be NaN/Infinity when a gradient is non-finite). */
  norm: number;
  /** The factor applied (1 when nothing was scaled). */
  coef: number;
}

/**
 * Global L2 norm of all gradients as a float32 value. With the native kernels active: one
 * threaded native pass per gradient summing in float64, in an order independent of the thread
 * count (native/sum-squares.ts). Otherwise computed in float32 on the backend, read back once.
 */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  if (nativeOpsActive()) {
    const sumSq = nativeSumOfSquares([...grads.values()]);
    if (sumSq !== null) return Math.fround(Math.sqrt(sumSq));
  }
  const total = tf.tidy(() => {
    const parts = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.addN(parts));
  });
  const n = total.dataSync()[0];
  total.dispose();
  return n;
}

/** Clip `grads` to global norm `maxNorm`. Takes ownership of the input tensors (see ClipResult). */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): ClipResult {
  const norm = globalNorm(grads);
  if (!(maxNorm > 0)) return { grads, norm, coef: 1 };
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  // torch multiplies by the clamped coefficient unconditionally; multiplying by exactly 1 is a no-op.
  if (coef === 1) return { grads, norm, coef };
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) {
    out.set(name, tf.tidy(() => tf.mul(g, coef)));
    g.dispose();
  }
  return { grads: out, norm, coef };
}
