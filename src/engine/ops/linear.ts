/**
 * Linear layer without bias in Hugging Face layout: `y = x @ Wᵀ` for `x` [n, in] and `W` [out, in].
 * Forward and backward are plain 2-D products with explicit transposes (`dX = dY @ W`,
 * `dW = dYᵀ @ x`), the only form the wasm backend runs on its fast path. A frozen weight
 * (`trainable = false`) gets no gradient and costs no product for one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './custom-op';

const linearTrainable = customOp<tf.Tensor2D>(([x, w], save) => {
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, tf.transpose(w as tf.Tensor2D)),
    gradFunc: (dy, [sx, sw]) => {
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, sw as tf.Tensor2D), tf.matMul(tf.transpose(g), sx as tf.Tensor2D)];
    },
  };
});

function linearFrozen(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return customOp<tf.Tensor2D>(([xi], save) => {
    save([w]);
    return {
      value: tf.matMul(xi as tf.Tensor2D, tf.transpose(w)),
      gradFunc: (dy, [sw]) => tf.matMul(dy as tf.Tensor2D, sw as tf.Tensor2D),
    };
  })(x);
}

/** `x @ wᵀ`; `w` is [out, in]. With `trainable = false` no gradient is produced for `w`. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, trainable = true): tf.Tensor2D {
  return trainable ? linearTrainable(x, w) : linearFrozen(x, w);
}
