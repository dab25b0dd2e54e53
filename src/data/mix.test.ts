import { interleaveIndices, mixDatasets } from './mix';

const A = ['a0', 'a1', 'a2'];
const B = ['b0', 'b1'];

describe('mixDatasets without probabilities (round robin)', () => {
  it('concat', () => {
    expect(mixDatasets([A, B], { strategy: 'concat', seed: 0 })).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
  });
  it('interleave_under stops at the shortest (HF example [3,4,5] → 9 items)', () => {
    const idx = interleaveIndices([3, 4, 5], undefined, 0, 'first_exhausted');
    const offsets = [0, 3, 7];
    expect(idx.map(({ source, index }) => offsets[source] + index)).toEqual([0, 3, 7, 1, 4, 8, 2, 5, 9]);
  });
  it('interleave_over cycles the shorter ones (HF example [3,4,5])', () => {
    const idx = interleaveIndices([3, 4, 5], undefined, 0, 'all_exhausted');
    const offsets = [0, 3, 7];
    expect(idx.map(({ source, index }) => offsets[source] + index)).toEqual([0, 3, 7, 1, 4, 8, 2, 5, 9, 0, 6, 10, 1, 3, 11]);
  });
  it('interleave_once uses each document once (HF example [3,4,3])', () => {
    const idx = interleaveIndices([3, 4, 3], undefined, 0, 'all_exhausted_without_replacement');
    const offsets = [0, 3, 7];
    expect(idx.map(({ source, index }) => offsets[source] + index)).toEqual([0, 3, 7, 1, 4, 8, 2, 5, 9, 6]);
  });
  it('a single dataset is returned as it is, whatever the strategy', () => {
    expect(mixDatasets([A], { strategy: 'interleave_over', probs: [1], seed: 1 })).toEqual(A);
  });
});

// Source draws of Rng(42) with probs [0.5, 0.5] (u < 0.5 → 0), computed independently in Python:
//   0 0 1 1 1 1 1 0 1 1 …
// Source draws of Rng(7) with probs [0.2, 0.8]:  1 1 1 1 0 1 0 1 1 1 …
describe('mixDatasets with interleave_probs (seeded source draws)', () => {
  it('interleave_under: stops right after the draw that exhausts a source', () => {
    // a0 a1 b0 b1(B exhausted) → stop
    expect(mixDatasets([A, B], { strategy: 'interleave_under', probs: [0.5, 0.5], seed: 42 })).toEqual(['a0', 'a1', 'b0', 'b1']);
  });
  it('interleave_over: an exhausted source restarts until all are exhausted', () => {
    // … b1 (B exhausted, restarts) b0 b1 b0 a2 (A exhausted) → stop
    expect(mixDatasets([A, B], { strategy: 'interleave_over', probs: [0.5, 0.5], seed: 42 })).toEqual([
      'a0', 'a1', 'b0', 'b1', 'b0', 'b1', 'b0', 'a2',
    ]);
  });
  it('interleave_once: draws of an exhausted source are skipped', () => {
    expect(mixDatasets([A, B], { strategy: 'interleave_once', probs: [0.5, 0.5], seed: 42 })).toEqual(['a0', 'a1', 'b0', 'b1', 'a2']);
  });
  it('unequal probabilities, seed 7', () => {
    const X = ['x0', 'x1'];
    const Y = ['y0', 'y1', 'y2', 'y3', 'y4'];
    expect(mixDatasets([X, Y], { strategy: 'interleave_under', probs: [0.2, 0.8], seed: 7 })).toEqual(['y0', 'y1', 'y2', 'y3', 'x0', 'y4']);
    expect(mixDatasets([X, Y], { strategy: 'interleave_over', probs: [0.2, 0.8], seed: 7 })).toEqual([
      'y0', 'y1', 'y2', 'y3', 'x0', 'y4', 'x1',
    ]);
  });
  it('long runs follow the probabilities', () => {
    const big1 = Array.from({ length: 3000 }, () => 0);
    const big2 = Array.from({ length: 3000 }, () => 1);
    const mixed = mixDatasets([big1, big2], { strategy: 'interleave_under', probs: [0.25, 0.75], seed: 9 });
    const share = mixed.filter((x) => x === 1).length / mixed.length;
    expect(Math.abs(share - 0.75)).toBeLessThan(0.03);
    expect(mixed.filter((x) => x === 1).length).toBe(3000); // the 0.75 source runs out first
  });
  it('errors: wrong count, bad sum, zero probability with all_exhausted, empty dataset', () => {
    expect(() => mixDatasets([A, B], { strategy: 'interleave_under', probs: [1], seed: 1 })).toThrow(/interleave_probs has 1 values for 2 datasets/);
    expect(() => mixDatasets([A, B], { strategy: 'interleave_under', probs: [0.3, 0.3], seed: 1 })).toThrow(/sums to 0.6/);
    expect(() => mixDatasets([A, B], { strategy: 'interleave_over', probs: [1, 0], seed: 1 })).toThrow(/dataset #2 probability 0/);
    expect(() => mixDatasets([A, []], { strategy: 'interleave_under', seed: 1, names: ['a', 'empty'] })).toThrow(/dataset "empty" has no documents/);
  });
});
