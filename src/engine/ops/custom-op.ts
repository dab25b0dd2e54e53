/**
 * A typed wrapper of `tf.customGrad`: `f(inputs, save)` returns the value and a gradient
 * function that receives the upstream gradient and the saved tensors. Everything the gradient
 * needs must go through `save` (saved tensors outlive the forward pass's tidy scopes).
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
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
  return (...inputs: tf.Tensor[]) => g(...inputs) as T;
}
