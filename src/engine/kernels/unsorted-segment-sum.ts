/**
 * UnsortedSegmentSum on plain typed arrays: out[s, …] = Σ x[i, …] over rows i with ids[i] = s.
 * This is the gradient of `tf.gather` (the embedding's backward pass). One pass over x, O(x.size);
 * ids outside [0, numSegments) are dropped, as in tfjs' reference kernel.
 * Shared by the wasm and cpu kernel registrations (see unsorted-segment-sum-wasm/cpu.ts).
 */
import { PtflowError } from '../../errors';

export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

export type NumericArray = Float32Array | Int32Array;

export interface SegmentSumGeometry {
  /** Rows of x (= number of segment ids). */
  rows: number;
  /** Elements per row of x (product of x's dims after those of segmentIds). */
  inner: number;
  outShape: number[];
}

/** Check shapes and derive the loop sizes; errors name the tensors' shapes. */
export function segmentSumGeometry(xShape: number[], idsShape: number[], numSegments: number): SegmentSumGeometry {
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new PtflowError(`UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const r = idsShape.length;
  const prefixOk = r <= xShape.length && idsShape.every((d, i) => d === xShape[i]);
  if (!prefixOk) {
    throw new PtflowError(
      `UnsortedSegmentSum: segmentIds shape [${idsShape}] must be a prefix of x shape [${xShape}]`,
    );
  }
  const rows = idsShape.reduce((a, b) => a * b, 1);
  const innerShape = xShape.slice(r);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  return { rows, inner, outShape: [numSegments, ...innerShape] };
}

/** Accumulate into `out` (length numSegments × inner, zeroed by the caller). */
export function unsortedSegmentSumInto(
  x: NumericArray,
  ids: Int32Array,
  g: SegmentSumGeometry,
  out: NumericArray,
): void {
  const numSegments = g.outShape[0];
  const inner = g.inner;
  for (let i = 0; i < g.rows; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}
