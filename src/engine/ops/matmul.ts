/**
 * Plain 2-D matrix product whose gradient uses only plain (non-transposed) 2-D products with
 * explicit transposes. The wasm backend runs its fast matmul only for untransposed, batch-1
 * products; tfjs' own matMul gradient uses transposed products, so every product in the model
 * goes through this op (or linear.ts) instead. With the native kernels active (any layout is
 * fast there) the gradient products take transpose flags and no transpose is materialised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive } from '../native';
import { customOp } from './custom-op';

const mmOp = customOp<tf.Tensor2D>(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy, [sa, sb]) => {
      const g = dy as tf.Tensor2D;
      if (nativeOpsActive()) return [tf.matMul(g, sb as tf.Tensor2D, false, true), tf.matMul(sa as tf.Tensor2D, g, true, false)];
      return [tf.matMul(g, tf.transpose(sb as tf.Tensor2D)), tf.matMul(tf.transpose(sa as tf.Tensor2D), g)];
    },
  };
});

/** `a @ b` for `a` [m, k] and `b` [k, n]; gradients: `dA = dY @ bᵀ`, `dB = aᵀ @ dY`. */
export function mm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return mmOp(a, b);
}
