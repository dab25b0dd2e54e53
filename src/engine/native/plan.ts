/**
 * Shape arithmetic for a batched matmul as TensorFlow.js defines it (`BatchMatMul`: rank >= 2,
 * outer dims broadcast NumPy-style) turned into the strides the native GEMM takes. Simple
 * batches (same outer dims, or one side without batch) become strides; any other broadcast
 * becomes an explicit per-item offset table.
 */
import { PtflowError } from '../../errors';

export interface MatMulPlan {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  outShape: number[];
  /** Row stride of A and B as stored (their last dimension). */
  lda: number;
  ldb: number;
  ldc: number;
  /** Element distance between batch items (0 = broadcast). Ignored when batchOffsets is set. */
  strideA: number;
  strideB: number;
  strideC: number;
  /** [aOffset, bOffset] per output batch item, for broadcasts that strides cannot express. */
  batchOffsets?: Float64Array;
}

const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

/** Broadcast `a` and `b` (NumPy rules, aligned at the right) or throw naming both shapes. */
export function broadcastShapes(a: number[], b: number[], what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new PtflowError(`${what}: batch dims [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element offsets of each output batch item in an operand with outer dims `dims`. */
function itemOffsets(dims: number[], outDims: number[], matrixSize: number): number[] {
  const rank = outDims.length;
  const padded = new Array<number>(rank - dims.length).fill(1).concat(dims);
  const strides = new Array<number>(rank);
  let acc = matrixSize;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : acc;
    acc *= padded[d];
  }
  const total = size(outDims);
  const offsets = new Array<number>(total);
  for (let t = 0; t < total; t++) {
    let rem = t;
    let off = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rem % outDims[d];
      rem = (rem - i) / outDims[d];
      off += i * strides[d];
    }
    offsets[t] = off;
  }
  return offsets;
}

export function planMatMul(
  aShape: number[],
  bShape: number[],
  transA: boolean,
  transB: boolean,
  what = 'matMul',
): MatMulPlan {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new PtflowError(`${what}: inputs must have rank >= 2, got [${aShape.join(',')}] and [${bShape.join(',')}]`);
  }
  const ra = aShape.length;
  const rb = bShape.length;
  const M = transA ? aShape[ra - 1] : aShape[ra - 2];
  const Ka = transA ? aShape[ra - 2] : aShape[ra - 1];
  const Kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  const N = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (Ka !== Kb) {
    throw new PtflowError(
      `${what}: inner dimensions differ (${Ka} vs ${Kb}) for shapes [${aShape.join(',')}] and ` +
        `[${bShape.join(',')}] with transposeA=${transA}, transposeB=${transB}`,
    );
  }
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const outer = broadcastShapes(outerA, outerB, what);
  const batch = size(outer);
  const sizeA = aShape[ra - 2] * aShape[ra - 1];
  const sizeB = bShape[rb - 2] * bShape[rb - 1];
  const plan: MatMulPlan = {
    batch,
    M,
    N,
    K: Ka,
    transA,
    transB,
    outShape: [...outer, M, N],
    lda: aShape[ra - 1],
    ldb: bShape[rb - 1],
    ldc: N,
    strideA: 0,
    strideB: 0,
    strideC: M * N,
  };
  const simple = (dims: number[]): number | undefined => {
    const n = size(dims);
    if (n === 1) return 0;
    if (n === batch) return 1; // same dims as the output (broadcast dims can only be 1s)
    return undefined;
  };
  const sa = simple(outerA);
  const sb = simple(outerB);
  if (sa !== undefined && sb !== undefined) {
    plan.strideA = sa * sizeA;
    plan.strideB = sb * sizeB;
  } else {
    const offA = itemOffsets(outerA, outer, sizeA);
    const offB = itemOffsets(outerB, outer, sizeB);
    const table = new Float64Array(2 * batch);
    for (let t = 0; t < batch; t++) {
      table[2 * t] = offA[t];
      table[2 * t + 1] = offB[t];
    }
    plan.batchOffsets = table;
  }
  return plan;
}
