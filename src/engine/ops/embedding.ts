/**
 * Token embedding lookup `E[ids]` whose gradient is a `ScatterNd` (duplicate ids accumulate),
 * which both the cpu and wasm backends implement directly, instead of `tf.gather`'s
 * `UnsortedSegmentSum` gradient.
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
      gradFunc: (dy, [sids]) => tf.scatterND(tf.reshape(sids, [-1, 1]), dy, table.shape),
    };
  })(table);
}
