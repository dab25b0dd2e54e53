/**
 * A typed wrapper of `tf.customGrad`: `f(inputs, save)` returns the value and a gradient
 * function that receives the upstream gradient and the saved tensors. Everything the gradient
 * needs must go through `save` (saved tensors outlive the forward pass's tidy scopes). The
 * gradient function runs in a tidy scope of its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients';

export type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
export type ForwardFn<T extends tf.Tensor> = (
  inputs: tf.Tensor[],
  save: (tensors: tf.Tensor[]) => void,
) => { value: T; gradFunc: GradFn };

/** An op over `inputs` whose gradient (one tensor per input, same order) is `gradFunc`. */
export function customOp<T extends tf.Tensor>(f: ForwardFn<T>): (...inputs: tf.Tensor[]) => T {
  const g = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const { value, gradFunc } = f(args.slice(0, -1) as tf.Tensor[], save);
    // tfjs calls a custom gradient outside any tidy scope: its temporaries would live until the
    // whole backward pass ends (on the demo model, a layer's SwiGLU gradient temporaries for
    // every layer at once). Only the returned gradients are kept.
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  });
  return (...inputs: tf.Tensor[]) => g(...inputs) as T;
}
