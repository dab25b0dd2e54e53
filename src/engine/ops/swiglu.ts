/**
 * The SwiGLU gate `silu(g) · u` (`silu(g) = g·σ(g)`) with a hand-written gradient:
 * `dG = dY·u·σ(g)·(1 + g·(1 − σ(g)))`, `dU = dY·g·σ(g)`. The projections around it are
 * plain linear layers (see linear.ts). With the native kernels active it is one fused native kernel
 * each way that keeps only g and u for the backward pass (src/engine/native/swiglu.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive, nativeSiluMul } from '../native';
import { customOp } from './custom-op';

export function siluMul(g: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  if (nativeOpsActive()) {
    const fused = nativeSiluMul(g, u);
    if (fused !== null) return fused;
  }
  return stockSiluMul(g, u);
}

const stockSiluMul = customOp<tf.Tensor2D>(([g, u], save) => {
  const sg = tf.sigmoid(g);
  save([g, u, sg]);
  return {
    value: tf.mul(tf.mul(g, sg), u) as tf.Tensor2D,
    gradFunc: (dy, [sgIn, su, ss]) => {
      const dG = tf.mul(tf.mul(dy, su), tf.mul(ss, tf.add(1, tf.mul(sgIn, tf.sub(1, ss)))));
      const dU = tf.mul(dy, tf.mul(sgIn, ss));
      return [dG, dU];
    },
  };
}) as (g: tf.Tensor2D, u: tf.Tensor2D) => tf.Tensor2D;
