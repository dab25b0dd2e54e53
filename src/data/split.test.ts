import { sampleDocs, splitSizes, takeFirst, trainTestSplit } from './split';
import { Rng } from './rng';
import { PtflowError } from '../errors';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('splitSizes (HF train_test_split sizes)', () => {
  it('fraction: test = ceil(frac × n) in double arithmetic, train = the rest', () => {
    expect(splitSizes(10, 0.2)).toEqual({ train: 8, test: 2 });
    expect(splitSizes(11, 0.1)).toEqual({ train: 9, test: 2 }); // ceil(1.1)
    expect(splitSizes(100, 0.07)).toEqual({ train: 92, test: 8 }); // 0.07*100 = 7.000000000000001 → 8, as Python
  });
  it('> 1 is a count (truncated as int(val_size)); ≤ 1e-6 means no split', () => {
    expect(splitSizes(10, 3)).toEqual({ train: 7, test: 3 });
    expect(splitSizes(10, 3.9)).toEqual({ train: 7, test: 3 });
    expect(splitSizes(10, 0)).toEqual({ train: 10, test: 0 });
    expect(splitSizes(10, 1e-7)).toEqual({ train: 10, test: 0 });
    expect(splitSizes(0, 0.5)).toEqual({ train: 0, test: 0 });
  });
  it('rejects sizes that leave no training data', () => {
    expect(() => splitSizes(10, 10)).toThrow(/val_size=10 should be smaller than the number of samples 10/);
    expect(() => splitSizes(10, 1)).toThrow(PtflowError);
    expect(() => splitSizes(1, 0.5)).toThrow(/train set will be empty/);
  });
});

describe('trainTestSplit', () => {
  it('test = first n_test of the seeded permutation, train = the rest (seed 42 permutation computed independently)', () => {
    // Rng(42).permutation(10) = [1, 0, 9, 6, 2, 5, 3, 7, 8, 4] (Python transcription of xoshiro128** + Fisher–Yates)
    const docs = range(10).map((i) => `d${i}`);
    const { train, test } = trainTestSplit(docs, 0.2, 42);
    expect(test).toEqual(['d1', 'd0']);
    expect(train).toEqual(['d9', 'd6', 'd2', 'd5', 'd3', 'd7', 'd8', 'd4']);
  });
  it('is deterministic for a seed, differs across seeds, and partitions the docs', () => {
    const docs = range(100);
    const a = trainTestSplit(docs, 0.25, 1);
    expect(trainTestSplit(docs, 0.25, 1)).toEqual(a);
    expect(trainTestSplit(docs, 0.25, 2).test).not.toEqual(a.test);
    expect(a.test.length).toBe(25);
    expect([...a.train, ...a.test].sort((x, y) => x - y)).toEqual(docs);
  });
  it('returns everything as train without a split', () => {
    expect(trainTestSplit([1, 2, 3], 0, 42)).toEqual({ train: [1, 2, 3], test: [] });
  });
});

describe('takeFirst / sampleDocs', () => {
  it('max_samples keeps the first N', () => {
    expect(takeFirst([1, 2, 3], 2)).toEqual([1, 2]);
    expect(takeFirst([1, 2, 3], 10)).toEqual([1, 2, 3]);
    expect(takeFirst([1, 2, 3])).toEqual([1, 2, 3]);
    expect(() => takeFirst([1], -1)).toThrow(/max_samples/);
  });
  it('num_samples ≤ len: a permutation prefix (distinct docs); > len: every doc once, then draws', () => {
    const small = sampleDocs(range(10), 4, new Rng(42));
    expect(small).toEqual([1, 0, 9, 6]); // the seed-42 permutation's prefix
    const big = sampleDocs(range(5), 12, new Rng(3));
    expect(big.length).toBe(12);
    expect([...big.slice(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(big.every((x) => x >= 0 && x < 5)).toBe(true);
    expect(() => sampleDocs([], 3, new Rng(1), 'c4')).toThrow(/c4: num_samples=3 but the dataset has no documents/);
  });
});
