import { mixDatasets } from '../data/mix';
import { Rng } from '../data/rng';
import { sampleDocs, takeFirst, trainTestSplit } from '../data/split';
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

describe('planSplits against DatasetShardActor\'s steps on document lists', () => {
  // The shard's path on real lists: per dataset collect (capped) → num_samples → max_samples; mix; split.
  function shardOrder(counts: { count: number; numSamples?: number }[], o: PlanOptions): { train: number[]; test: number[] } {
    let offset = 0;
    const lists = counts.map((c) => {
      let docs = Array.from({ length: o.maxSamples === null ? c.count : Math.min(c.count, o.maxSamples) }, (_, i) => offset + i);
      offset += c.count;
      if (c.numSamples !== undefined) docs = sampleDocs(docs, c.numSamples, new Rng(o.seed));
      return takeFirst(docs, o.maxSamples ?? undefined);
    });
    const mixed = mixDatasets(lists, { strategy: o.mixStrategy, probs: o.interleaveProbs ?? undefined, seed: o.seed });
    return trainTestSplit(mixed, o.valSize, o.seed);
  }
  const cases: [string, { count: number; numSamples?: number }[], Partial<PlanOptions>][] = [
    ['one dataset, val_size count', [{ count: 50 }], { valSize: 7 }],
    ['one dataset, val_size fraction, max_samples', [{ count: 50 }], { valSize: 0.1, maxSamples: 30 }],
    ['one dataset, num_samples', [{ count: 20, numSamples: 33 }], { valSize: 4 }],
    ['two datasets, concat', [{ count: 10 }, { count: 12 }], { valSize: 3 }],
    ['interleave_under with probs', [{ count: 10 }, { count: 30 }], { mixStrategy: 'interleave_under', interleaveProbs: [0.3, 0.7], valSize: 2 }],
    ['interleave_over', [{ count: 9 }, { count: 4 }], { mixStrategy: 'interleave_over', valSize: 0 }],
  ];
  it.each(cases)('%s', (_name, counts, over) => {
    const o = { ...base, seed: 11, ...over };
    // planSplits gets counts already capped at max_samples, as the counting pass stops there
    const capped = counts.map((c, i) => ({ name: `d${i}`, count: o.maxSamples === null ? c.count : Math.min(c.count, o.maxSamples), numSamples: c.numSamples }));
    const p = planSplits(capped, [], o);
    // the shard numbers documents over full counts; with max_samples the capped counts are the read counts
    const expected = shardOrder(capped.map((c) => ({ count: c.count, numSamples: c.numSamples })), o);
    expect(arr(p.train)).toEqual(expected.train);
    expect(arr(p.validation)).toEqual(expected.test);
  });
});
