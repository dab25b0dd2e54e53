/**
 * The causal language-modelling loss: position t predicts `labels[t + 1]`; labels of −100 are
 * ignored. Returns the SUM of the token losses, so a gradient-accumulation window can be divided
 * by its total token count (Hugging Face semantics); `countLossTokens` (batch.ts) gives the count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../errors';
import { crossEntropySum, IGNORE_INDEX } from './ops/cross-entropy';

export interface LabelledBatch {
  batchSize: number;
  seqLen: number;
  labels: Int32Array;
}

/**
 * Targets per position after the causal shift (length B·T, the last position of each row −100).
 * A label outside [0, vocabSize) other than −100 is an error naming its row and column.
 */
export function shiftedTargets(b: LabelledBatch, vocabSize: number): Int32Array {
  const { batchSize: B, seqLen: T } = b;
  if (b.labels.length !== B * T) {
    throw new PtflowError(`micro-batch tensor "labels": length ${b.labels.length}, expected ${B}×${T}`);
  }
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let r = 0; r < B; r++) {
    for (let t = 1; t < T; t++) {
      const y = b.labels[r * T + t];
      if (y === IGNORE_INDEX) continue;
      if (!(y >= 0 && y < vocabSize)) {
        throw new PtflowError(
          `micro-batch tensor "labels": value ${y} at row ${r}, column ${t} is outside the vocabulary [0, ${vocabSize})`,
        );
      }
      out[r * T + t - 1] = y;
    }
  }
  return out;
}

/** Sum of the token losses of `logits` [B·T, V] (row-major over batch then position). */
export function causalLmLossSum(logits: tf.Tensor2D, b: LabelledBatch): tf.Scalar {
  return crossEntropySum(logits, shiftedTargets(b, logits.shape[1]));
}
