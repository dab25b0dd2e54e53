/**
 * Rotary position embedding in Hugging Face's rotate-half convention:
 * `inv_freq[i] = 1 / theta^(2i/d)`, angle = position · inv_freq, `cos`/`sin` repeated over both
 * halves, `y = x·cos + rotate_half(x)·sin` with `rotate_half(x) = [−x₂, x₁]`. With the native
 * kernels active it is one native kernel each way (src/engine/native/rope.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive, nativeRope } from '../native';
import { customOp } from './custom-op';

/**
 * `cos` and `sin` tables [n, 1, d] for `n` positions (float32, computed as HF does: inv_freq and
 * the angle products in float32).
 */
export function ropeTables(
  positions: ArrayLike<number>,
  headDim: number,
  theta: number,
): { cos: tf.Tensor3D; sin: tf.Tensor3D } {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  const n = positions.length;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  const angle = new Float32Array(1);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      angle[0] = positions[p] * invFreq[i];
      const c = Math.cos(angle[0]);
      const s = Math.sin(angle[0]);
      cos[p * headDim + i] = c;
      cos[p * headDim + half + i] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + half + i] = s;
    }
  }
  return { cos: tf.tensor3d(cos, [n, 1, headDim]), sin: tf.tensor3d(sin, [n, 1, headDim]) };
}

/** `[−x₂, x₁]` along the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.rank - 1];
  const [x1, x2] = tf.split(x, [d / 2, d / 2], x.rank - 1);
  return tf.concat([tf.neg(x2), x1], x.rank - 1);
}

/** Transpose of rotate_half: `[z₂, −z₁]`. */
function rotateHalfT(z: tf.Tensor): tf.Tensor {
  const d = z.shape[z.rank - 1];
  const [z1, z2] = tf.split(z, [d / 2, d / 2], z.rank - 1);
  return tf.concat([z2, tf.neg(z1)], z.rank - 1);
}

/** Rotates `x` [n, heads, d] by the tables from `ropeTables` (gradient: `dY·cos + rotᵀ(dY·sin)`). */
export function applyRope(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D): tf.Tensor3D {
  if (nativeOpsActive()) {
    const fused = nativeRope(x, cos, sin);
    if (fused !== null) return fused;
  }
  return customOp<tf.Tensor3D>(([xi], save) => {
    save([cos, sin]);
    return {
      value: tf.add(tf.mul(xi, cos), tf.mul(rotateHalf(xi), sin)) as tf.Tensor3D,
      gradFunc: (dy, [c, s]) => tf.add(tf.mul(dy, c), rotateHalfT(tf.mul(dy, s))),
    };
  })(x);
}
