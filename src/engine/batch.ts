/**
 * A micro-batch as the engine consumes it: flat, row-major typed arrays of
 * `batchSize × seqLen` (the layout of the `TrainBatch` Arrow columns, so they can be
 * viewed without copying).
 */
import { IGNORE_INDEX } from '../../schemas/train-batch';
export interface MicroBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  /** Next-token targets are derived by the causal shift; −100 marks an ignored position. */
  labels: Int32Array;
  /** 1 = real token, 0 = padding. */
  attentionMask: Int32Array;
  /** Optional explicit positions (cross-document masking restarts them per document). */
  positionIds?: Int32Array;
  /** Optional document index per position: attention stays inside one segment. */
  segmentIds?: Int32Array;
}

/** Number of labels that count in the loss after the causal shift (label ≠ −100, position ≥ 1). */
export function countLossTokens(b: MicroBatch): number {
  let n = 0;
  for (let r = 0; r < b.batchSize; r++) {
    const base = r * b.seqLen;
    for (let t = 1; t < b.seqLen; t++) if (b.labels[base + t] !== IGNORE_INDEX) n++;
  }
  return n;
}
