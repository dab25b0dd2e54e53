/**
 * Sparse softmax cross-entropy summed over rows: `Σ_i [logsumexp(z_i) − z_i[t_i]]` for the rows
 * whose target is not −100. No one-hot targets are built; the gradient
 * `dZ = dY·(softmax(z)·w − e_t)` puts the −1s in with one `ScatterNd`. With the native kernels
 * active the whole op is one fused native kernel pair (src/engine/native/cross-entropy.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOpsActive, softmaxCrossEntropySum } from '../native';
import { customOp } from './custom-op';

/** Ignored target (the TrainBatch contract's value). */
export { IGNORE_INDEX } from '../../../schemas/train-batch';
import { IGNORE_INDEX } from '../../../schemas/train-batch';

/**
 * Sum of token losses of `logits` [N, V] against `targets` (length N, −100 = ignored).
 * Targets outside [0, V) that are not −100 are the caller's error (checked in loss.ts).
 */
export function crossEntropySum(logits: tf.Tensor2D, targets: ArrayLike<number>): tf.Scalar {
  if (nativeOpsActive()) return softmaxCrossEntropySum(logits, targets, IGNORE_INDEX);
  const [N, V] = logits.shape;
  const rows: number[] = [];
  const weights = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    if (targets[i] !== IGNORE_INDEX) {
      rows.push(i);
      weights[i] = 1;
    }
  }
  const n = rows.length;
  const pairs = new Int32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    pairs[2 * k] = i;
    pairs[2 * k + 1] = targets[i];
  }
  return customOp<tf.Scalar>(([z], save) => {
    if (n === 0) {
      return { value: tf.scalar(0), gradFunc: () => tf.zerosLike(z) };
    }
    const z2 = z as tf.Tensor2D;
    const w = tf.tensor2d(weights, [N, 1]);
    const m = tf.max(z2, 1, true);
    const e = tf.exp(tf.sub(z2, m));
    const s = tf.sum(e, 1, true);
    const lse = tf.add(tf.log(s), m);
    // (row, target) pairs rather than flat indices: N·V can exceed the int32 range
    const picked = tf.gatherND(z2, tf.tensor2d(pairs, [n, 2], 'int32'));
    save([e, s, w]);
    return {
      value: tf.sub(tf.sum(tf.mul(lse, w)), tf.sum(picked)) as tf.Scalar,
      gradFunc: (dy, [se, ss, sw]) => {
        const scale = tf.div(tf.mul(sw, dy), ss);
        const hits = tf.scatterND(
          tf.tensor2d(pairs, [n, 2], 'int32'),
          tf.broadcastTo(tf.reshape(dy, [1]), [n]),
          [N, V],
        );
        return tf.sub(tf.mul(se, scale), hits);
      },
    };
  })(logits);
}
