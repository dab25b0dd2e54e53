/**
 * What the model reads from a micro-batch, its validation, and the positions it derives:
 * explicit `positionIds`, else positions restarting at each change of `segmentIds`, else 0…T−1.
 */
import { PtflowError } from '../../errors';

export interface ModelInputs {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  /** 1 = real token, 0 = padding (default: all real). */
  attentionMask?: Int32Array;
  positionIds?: Int32Array;
  segmentIds?: Int32Array;
}

/** Checks lengths and token ids; errors name the tensor, row and column. */
export function validateInputs(x: ModelInputs, vocabSize: number): void {
  const { batchSize: B, seqLen: T } = x;
  if (!(Number.isInteger(B) && B > 0 && Number.isInteger(T) && T > 0)) {
    throw new PtflowError(`micro-batch: batchSize ${B} and seqLen ${T} must be positive integers`);
  }
  const check = (name: string, a: Int32Array | undefined): void => {
    if (a !== undefined && a.length !== B * T) {
      throw new PtflowError(`micro-batch tensor "${name}": length ${a.length}, expected ${B}×${T} = ${B * T}`);
    }
  };
  check('inputIds', x.inputIds);
  check('attentionMask', x.attentionMask);
  check('positionIds', x.positionIds);
  check('segmentIds', x.segmentIds);
  for (let i = 0; i < B * T; i++) {
    const id = x.inputIds[i];
    if (!(id >= 0 && id < vocabSize)) {
      throw new PtflowError(
        `micro-batch tensor "inputIds": token ${id} at row ${Math.floor(i / T)}, column ${i % T} is outside the vocabulary [0, ${vocabSize})`,
      );
    }
  }
}

/** Position of every token (flat B·T). */
export function positionsOf(x: ModelInputs): Int32Array {
  if (x.positionIds) return x.positionIds;
  const { batchSize: B, seqLen: T } = x;
  const out = new Int32Array(B * T);
  for (let r = 0; r < B; r++) {
    let p = 0;
    for (let t = 0; t < T; t++) {
      const i = r * T + t;
      if (x.segmentIds && t > 0 && x.segmentIds[i] !== x.segmentIds[i - 1]) p = 0;
      out[i] = p++;
    }
  }
  return out;
}
