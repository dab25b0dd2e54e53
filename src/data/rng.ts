/**
 * The seeded pseudo-random generator of the data layer (interleaving, num_samples sampling,
 * the train/validation split, epoch shuffles).
 *
 * Algorithm: xoshiro128** 1.0 (Blackman & Vigna), 128 bits of state as four uint32 words,
 * seeded by running SplitMix64 over (seed, stream). The state is plain numbers, so it can be
 * stored in a checkpoint / cursor (`state()`) and resumed (`Rng.fromState`).
 *
 * It cannot reproduce numpy's PCG64 streams bit-for-bit: the same seed gives a different (but
 * equally well distributed and fully deterministic) order than Hugging Face datasets would.
 */
import { PtflowError } from '../errors';

/** Serialisable generator state: four uint32 words. */
export interface RngState {
  s: [number, number, number, number];
}

const MASK64 = (1n << 64n) - 1n;

/** One SplitMix64 step: returns [next state, output]. */
function splitMix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * @param seed any safe integer (the config's `seed`)
   * @param stream an independent sub-stream (e.g. the epoch number for epoch shuffles)
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
      throw new PtflowError(`rng: seed and stream must be safe integers (got seed=${seed}, stream=${stream})`);
    }
    // Mix the stream into the SplitMix64 start so that (seed, stream) pairs do not share sequences.
    let st = BigInt.asUintN(64, BigInt(seed));
    const [, streamMix] = splitMix64(BigInt.asUintN(64, BigInt(stream)) ^ 0x6a09e667f3bcc909n);
    st ^= stream === 0 ? 0n : streamMix;
    const [st1, a] = splitMix64(st);
    const [, b] = splitMix64(st1);
    this.s0 = Number(a & 0xffffffffn);
    this.s1 = Number(a >> 32n);
    this.s2 = Number(b & 0xffffffffn);
    this.s3 = Number(b >> 32n);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Resume a generator from `state()`. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    const words = state.s;
    if (!Array.isArray(words) || words.length !== 4 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new PtflowError(`rng: invalid state ${JSON.stringify(state)} (need four uint32 words)`);
    }
    if (words.every((w) => w === 0)) throw new PtflowError('rng: invalid all-zero state');
    [r.s0, r.s1, r.s2, r.s3] = words;
    return r;
  }

  /** A copy of the current state (serialisable as JSON). */
  state(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits (two draws). */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), 1 ≤ n ≤ 2^32. */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new PtflowError(`rng: nextBelow(${n}) needs 1 ≤ n ≤ 2^32`);
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates, drawing from the end). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextBelow(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * Index drawn with the given probabilities (as numpy's `choice(p=…)`: cumulative sum,
   * normalised by its last entry, first index whose cumulative value exceeds a uniform draw).
   * Pass a precomputed `cumulativeProbs(p)` for speed in loops.
   */
  choice(cdf: Float64Array): number {
    const u = this.nextFloat();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Validated cumulative distribution for `Rng.choice`: probabilities must be finite, ≥ 0 and sum
 * to 1 (within 1e-6, numpy's tolerance is about 1.5e-8 · n). `what` names the config key in errors.
 */
export function cumulativeProbs(probs: readonly number[], what = 'probabilities'): Float64Array {
  if (probs.length === 0) throw new PtflowError(`${what}: empty list`);
  let sum = 0;
  for (const p of probs) {
    if (!Number.isFinite(p) || p < 0) throw new PtflowError(`${what}: ${JSON.stringify(probs)} contains a negative or non-finite value`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new PtflowError(`${what}: ${JSON.stringify(probs)} sums to ${sum}, not 1`);
  const cdf = new Float64Array(probs.length);
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i];
    cdf[i] = acc;
  }
  for (let i = 0; i < cdf.length; i++) cdf[i] /= acc;
  cdf[cdf.length - 1] = 1; // guard against rounding: a draw < 1 always lands somewhere
  return cdf;
}
