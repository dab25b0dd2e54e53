/**
 * RMSNorm as Hugging Face's `LlamaRMSNorm` computes it in float32:
 * `y = x · rsqrt(mean(x², last axis) + eps) · w`, with a hand-written gradient
 * (`dX = r·g − x·r³·mean(g·x)`, `g = dY·w`; `dW = Σ_rows dY·x·r`). With the native kernels
 * active it is one fused native kernel each way (src/engine/native/rmsnorm.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive, nativeRmsNorm } from '../native';
import { customOp } from './custom-op';

function forward(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): { y: tf.Tensor2D; r: tf.Tensor2D } {
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), eps)) as tf.Tensor2D;
  return { y: tf.mul(tf.mul(x, r), w), r };
}

function gradX(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor, r: tf.Tensor): tf.Tensor {
  const g = tf.mul(dy, w);
  const m = tf.mean(tf.mul(g, x), 1, true);
  return tf.sub(tf.mul(g, r), tf.mul(x, tf.mul(tf.pow(r, 3), m)));
}

/** RMSNorm over the last axis of `x` [n, d] with weight `w` [d]; `trainable = false` → no dW. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number, trainable = true): tf.Tensor2D {
  if (nativeOpsActive()) {
    const fused = nativeRmsNorm(x, w, eps, trainable);
    if (fused !== null) return fused;
  }
  if (trainable) {
    return customOp<tf.Tensor2D>(([xi, wi], save) => {
      const { y, r } = forward(xi as tf.Tensor2D, wi as tf.Tensor1D, eps);
      save([xi, wi, r]);
      return {
        value: y,
        gradFunc: (dy, [sx, sw, sr]) => [gradX(dy, sx, sw, sr), tf.sum(tf.mul(dy, tf.mul(sx, sr)), 0)],
      };
    })(x, w);
  }
  return customOp<tf.Tensor2D>(([xi], save) => {
    const { y, r } = forward(xi as tf.Tensor2D, w, eps);
    save([xi, w, r]);
    return { value: y, gradFunc: (dy, [sx, sw, sr]) => gradX(dy, sx, sw, sr) };
  })(x);
}
