/**
 * Token embedding lookup `E[ids]` whose gradient is a `ScatterNd` (duplicate ids accumulate),
 * which the wasm backend implements directly, instead of `tf.gather`'s `UnsortedSegmentSum`
 * gradient. On the cpu backend the gradient is ptflow's `UnsortedSegmentSum`
 * (kernels/unsorted-segment-sum-cpu.ts): the same float32 sums in the same order as the stock
 * ScatterNd, without its fresh zero-filled [V, D] array per step (230 ms for 32000 × 576).
 */
import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './custom-op';

/** Rows of `table` [V, D] for `ids` (int32, length n) → [n, D]. `trainable = false` → no dE. */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D, trainable = true): tf.Tensor2D {
  if (!trainable) return tf.gather(table, ids) as tf.Tensor2D;
  return customOp<tf.Tensor2D>(([t], save) => {
    save([ids]);
    return {
      value: tf.gather(t, ids) as tf.Tensor2D,
      gradFunc: (dy, [sids]) =>
        tf.getBackend() === 'cpu'
          ? tf.unsortedSegmentSum(dy, sids as tf.Tensor1D, table.shape[0])
          : tf.scatterND(tf.reshape(sids, [-1, 1]), dy, table.shape),
    };
  })(table);
}
