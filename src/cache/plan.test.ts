import { Rng } from '../data/rng';
import { planSplits, type PlanOptions } from './plan';

const base: PlanOptions = { maxSamples: null, mixStrategy: 'concat', interleaveProbs: null, valSize: 0, seed: 42, doTrain: true };
const arr = (a: Uint32Array): number[] => Array.from(a);

describe('planSplits', () => {
  it('numbers documents dataset after dataset and concatenates them', () => {
    const p = planSplits([{ name: 'a', count: 3 }, { name: 'b', count: 2 }], [], base);
    expect(arr(p.train)).toEqual([0, 1, 2, 3, 4]);
    expect(arr(p.validation)).toEqual([]);
    expect(p.sources).toBe(5);
  });

  it('interleaves round robin (under: stop at the shortest; over: restart exhausted ones)', () => {
    const counts = [{ name: 'a', count: 3 }, { name: 'b', count: 2 }];
    // a = 0,1,2; b = 3,4
    expect(arr(planSplits(counts, [], { ...base, mixStrategy: 'interleave_under' }).train)).toEqual([0, 3, 1, 4]);
    expect(arr(planSplits(counts, [], { ...base, mixStrategy: 'interleave_over' }).train)).toEqual([0, 3, 1, 4, 2, 3]);
  });

  it('splits off val_size documents with the seeded permutation (test = its first entries)', () => {
    const p = planSplits([{ name: 'a', count: 10 }], [], { ...base, valSize: 3, seed: 7 });
    const perm = Array.from(new Rng(7).permutation(10));
    expect(arr(p.validation)).toEqual(perm.slice(0, 3));
    expect(arr(p.train)).toEqual(perm.slice(3));
    // a fraction: ceil(0.25 × 10) = 3 validation documents
    const f = planSplits([{ name: 'a', count: 10 }], [], { ...base, valSize: 0.25, seed: 7 });
    expect(f.validation.length).toBe(3);
    expect(arr(f.validation)).toEqual(perm.slice(0, 3));
  });

  it('takes eval datasets as the validation split, numbered after the training sources', () => {
    const p = planSplits([{ name: 'a', count: 2 }], [{ name: 'e', count: 3 }], base);
    expect(arr(p.train)).toEqual([0, 1]);
    expect(arr(p.validation)).toEqual([2, 3, 4]);
    expect(p.sources).toBe(5);
  });

  it('samples num_samples (each document once before any repeats) and cuts at max_samples', () => {
    const p = planSplits([{ name: 'a', count: 3, numSamples: 5 }], [], { ...base, maxSamples: 4 });
    const t = arr(p.train);
    expect(t).toHaveLength(4);
    expect([...t.slice(0, 3)].sort()).toEqual([0, 1, 2]);
    expect(t[3]).toBeGreaterThanOrEqual(0);
    expect(t[3]).toBeLessThan(3);
  });

  it('builds no training split without do_train (and no val_size split either)', () => {
    const p = planSplits([{ name: 'a', count: 4 }], [], { ...base, valSize: 2, doTrain: false });
    expect(p.train.length).toBe(0);
    expect(p.validation.length).toBe(0);
  });
});
