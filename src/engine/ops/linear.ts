/**
 * Linear layer without bias in Hugging Face layout: `y = x @ Wᵀ` for `x` [n, in] and `W` [out, in].
 * Forward and backward are plain 2-D products with explicit transposes (`dX = dY @ W`,
 * `dW = dYᵀ @ x`, see `weightGrad`), the only form the wasm backend runs on its fast path. A frozen weight
 * (`trainable = false`) gets no gradient and costs no product for one. With the native kernels
 * active (any layout is fast there) the products take transpose flags instead of transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive } from '../native';
import { customOp } from './custom-op';

/**
 * `dW = dYᵀ·x` [out, in], transposing whichever side moves fewer elements: `dY` (n·out) or
 * `x` and the product (n·in + in·out). For an lm_head (out = vocab ≫ in) that is 3–4× less.
 */
function weightGrad(dy: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  if (nativeOpsActive()) return tf.matMul(dy, x, true, false);
  const [n, out] = dy.shape;
  const inF = x.shape[1];
  if (n * out <= n * inF + inF * out) return tf.matMul(tf.transpose(dy), x);
  return tf.transpose(tf.matMul(tf.transpose(x), dy)) as tf.Tensor2D;
}

/** `x·Wᵀ`. */
function xWt(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return nativeOpsActive() ? tf.matMul(x, w, false, true) : tf.matMul(x, tf.transpose(w));
}

const linearTrainable = customOp<tf.Tensor2D>(([x, w], save) => {
  save([x, w]);
  return {
    value: xWt(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [sx, sw]) => [tf.matMul(dy as tf.Tensor2D, sw as tf.Tensor2D), weightGrad(dy as tf.Tensor2D, sx as tf.Tensor2D)],
  };
});

function linearFrozen(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return customOp<tf.Tensor2D>(([xi], save) => {
    save([w]);
    return {
      value: xWt(xi as tf.Tensor2D, w),
      gradFunc: (dy, [sw]) => tf.matMul(dy as tf.Tensor2D, sw as tf.Tensor2D),
    };
  })(x);
}

/** `x @ wᵀ`; `w` is [out, in]. With `trainable = false` no gradient is produced for `w`. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, trainable = true): tf.Tensor2D {
  return trainable ? linearTrainable(x, w) : linearFrozen(x, w);
}
