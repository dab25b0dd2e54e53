import { Rng, cumulativeProbs } from './rng';
import { PtflowError } from '../errors';

// Reference numbers computed with an independent Python transcription of the published C code.
describe('Rng (xoshiro128** seeded by SplitMix64)', () => {
  it('matches the reference xoshiro128** outputs for state {1,2,3,4}', () => {
    const r = Rng.fromState({ s: [1, 2, 3, 4] });
    expect([0, 1, 2, 3, 4, 5].map(() => r.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds from SplitMix64(seed): seed 42 gives the state and outputs computed independently', () => {
    const r = new Rng(42);
    expect(r.state()).toEqual({ s: [803958421, 3184996902, 2993090819, 686809907] });
    expect([0, 1, 2, 3].map(() => r.nextUint32())).toEqual([1776835114, 4165204688, 17111135, 2317295270]);
  });

  it('state() / fromState() resumes the exact sequence', () => {
    const a = new Rng(7);
    for (let i = 0; i < 10; i++) a.nextUint32();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = Rng.fromState(saved);
    for (let i = 0; i < 20; i++) expect(b.nextUint32()).toBe(a.nextUint32());
  });

  it('different streams of one seed give different sequences; stream 0 is the plain seed', () => {
    expect(new Rng(42, 0).state()).toEqual(new Rng(42).state());
    expect(new Rng(42, 1).nextUint32()).not.toBe(new Rng(42, 0).nextUint32());
    expect(new Rng(42, 1).nextUint32()).not.toBe(new Rng(42, 2).nextUint32());
  });

  it('nextFloat is in [0,1) with mean ≈ 1/2', () => {
    const r = new Rng(1);
    let sum = 0;
    let inRange = true;
    for (let i = 0; i < 20000; i++) {
      const u = r.nextFloat();
      inRange &&= u >= 0 && u < 1;
      sum += u;
    }
    expect(inRange).toBe(true);
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01); // sd of mean ≈ 0.002
  });

  it('nextBelow is uniform (chi-square, 6 bins, 60000 draws)', () => {
    const r = new Rng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.nextBelow(6)]++;
    const chi2 = counts.reduce((acc, c) => acc + (c - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(20.5); // p ≈ 0.001 for 5 degrees of freedom
  });

  it('permutation is a permutation and every position is uniform', () => {
    const r = new Rng(5);
    const firstCounts = new Array(4).fill(0);
    let valid = true;
    for (let k = 0; k < 8000; k++) {
      const p = r.permutation(4);
      valid &&= [...p].sort().join() === '0,1,2,3';
      firstCounts[p[0]]++;
    }
    expect(valid).toBe(true);
    for (const c of firstCounts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('choice follows the probabilities and never picks a zero-probability source', () => {
    const r = new Rng(11);
    const cdf = cumulativeProbs([0.7, 0, 0.3]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 10000; i++) counts[r.choice(cdf)]++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0] / 10000 - 0.7)).toBeLessThan(0.03);
  });

  it('rejects bad probabilities and bad states with PtflowError', () => {
    expect(() => cumulativeProbs([0.5, 0.4], 'interleave_probs')).toThrow(/interleave_probs.*sums to 0.9/);
    expect(() => cumulativeProbs([1.5, -0.5])).toThrow(PtflowError);
    expect(() => Rng.fromState({ s: [0, 0, 0, 0] })).toThrow(/all-zero/);
    expect(() => new Rng(1.5)).toThrow(PtflowError);
  });
});
