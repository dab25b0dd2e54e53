/**
 * Additive attention masks, one [T, T] table per batch row: 0 where query `i` may attend key `j`
 * (causal `j ≤ i`, key is a real token, and — with segment ids — both in the same document),
 * `MASKED` elsewhere. A finite value (not −∞) keeps rows with no visible key finite
 * (such rows belong to padding queries, whose outputs are never used).
 */
export const MASKED = -1e9;

export interface MaskInputs {
  batchSize: number;
  seqLen: number;
  attentionMask: ArrayLike<number>;
  segmentIds?: ArrayLike<number>;
}

/** The additive mask of batch row `row` as a flat row-major [T, T] array. */
export function additiveMaskRow(b: MaskInputs, row: number): Float32Array {
  const T = b.seqLen;
  const base = row * T;
  const out = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      let ok = j <= i && b.attentionMask[base + j] !== 0;
      if (ok && b.segmentIds) ok = b.segmentIds[base + j] === b.segmentIds[base + i];
      out[i * T + j] = ok ? 0 : MASKED;
    }
  }
  return out;
}
