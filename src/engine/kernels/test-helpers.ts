/**
 * Helpers for the kernel tests: a seeded generator and plain-JS reference implementations
 * (float64 loops, independent of the kernels under test).
 */

/** mulberry32: small seeded generator, values in [0, 1) — the model initialiser's own. */
export { uniformStream as rng } from '../model/rng';

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Reference UnsortedSegmentSum over rows of length `inner`, float64 accumulation. */
export function segmentSumRef(x: ArrayLike<number>, ids: ArrayLike<number>, inner: number, numSegments: number): number[] {
  const out = new Array<number>(numSegments * inner).fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0; j < inner; j++) out[s * inner + j] += x[i * inner + j];
  }
  return out;
}

/** Reference slice by enumerating every output index. */
export function sliceRef(x: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  const rank = shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const idx = new Array<number>(rank).fill(0);
  for (let n = 0; n < total; n++) {
    let rem = n;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rem % size[d];
      rem = Math.floor(rem / size[d]);
    }
    let flat = 0;
    for (let d = 0; d < rank; d++) flat = flat * shape[d] + begin[d] + idx[d];
    out.push(x[flat]);
  }
  return out;
}

export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** Reference transpose: out[i_perm…] by enumerating every output index. */
export function transposeRef(x: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const total = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const oi = new Array<number>(rank).fill(0);
  for (let n = 0; n < total; n++) {
    let rem = n;
    for (let d = rank - 1; d >= 0; d--) {
      oi[d] = rem % outShape[d];
      rem = Math.floor(rem / outShape[d]);
    }
    const xi = new Array<number>(rank);
    for (let d = 0; d < rank; d++) xi[perm[d]] = oi[d];
    let flat = 0;
    for (let d = 0; d < rank; d++) flat = flat * shape[d] + xi[d];
    out.push(x[flat]);
  }
  return out;
}
