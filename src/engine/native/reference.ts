/**
 * A plain float64 batched matmul with NumPy broadcasting of the batch dims: the independent
 * reference the native GEMM is checked against (tests, benchmark sanity check).
 */
import { broadcastShapes } from './plan';

export function referenceMatMul(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  transA: boolean,
  transB: boolean,
): { values: Float64Array; shape: number[] } {
  const ra = aShape.length;
  const rb = bShape.length;
  const M = transA ? aShape[ra - 1] : aShape[ra - 2];
  const K = transA ? aShape[ra - 2] : aShape[ra - 1];
  const N = transB ? bShape[rb - 2] : bShape[rb - 1];
  const outer = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2), 'referenceMatMul');
  const batch = outer.reduce((p, d) => p * d, 1);
  const out = new Float64Array(batch * M * N);
  const offset = (dims: number[], t: number, matrix: number): number => {
    const pad = new Array<number>(outer.length - dims.length).fill(1).concat(dims);
    let rem = t;
    let off = 0;
    let stride = matrix;
    for (let d = outer.length - 1; d >= 0; d--) {
      const i = rem % outer[d];
      rem = (rem - i) / outer[d];
      if (pad[d] !== 1) off += i * stride;
      stride *= pad[d];
    }
    return off;
  };
  for (let t = 0; t < batch; t++) {
    const ao = offset(aShape.slice(0, -2), t, M * K);
    const bo = offset(bShape.slice(0, -2), t, K * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[ao + k * M + i] : a[ao + i * K + k];
          const bv = transB ? b[bo + j * K + k] : b[bo + k * N + j];
          s += av * bv;
        }
        out[(t * M + i) * N + j] = s;
      }
    }
  }
  return { values: out, shape: [...outer, M, N] };
}

/** max |x - ref| / max |ref| (0 when both are all zero). */
export function relativeError(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(x[i] - ref[i]);
    if (!(d <= diff)) diff = d; // NaN propagates as Infinity-like failure
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return scale === 0 ? diff : diff / scale;
}

/** Deterministic uniform(-1, 1) float32 values (xorshift), so failures reproduce. */
export function randomFloat32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
