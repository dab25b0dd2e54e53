import { collate, IGNORE_INDEX } from './collate';
import { countLossTokens } from '../engine/batch';
import { packDocs } from './packer';

const I = (xs: number[]) => Int32Array.from(xs);
const X = IGNORE_INDEX;

describe('collate', () => {
  it('right-pads to the longest row; labels masked by attention mask, so EOS is kept when pad == eos', () => {
    const eos = 2;
    const b = collate([I([1, 2, 3]), I([4, eos])], eos);
    expect(b.batchSize).toBe(2);
    expect(b.seqLen).toBe(3);
    expect(Array.from(b.inputIds)).toEqual([1, 2, 3, 4, 2, 2]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 0]);
    // HF (mask by pad id) would give [1, X, 3, 4, X, X]: every EOS label lost.
    expect(Array.from(b.labels)).toEqual([1, 2, 3, 4, 2, X]);
    expect(b.positionIds).toBeUndefined();
    expect(b.segmentIds).toBeUndefined();
    // loss tokens after the causal shift: row 0 → positions 1, 2; row 1 → position 1
    expect(countLossTokens(b)).toBe(3);
  });

  it('equal-length rows need no padding', () => {
    const b = collate([I([5, 6]), I([7, 8])], 0);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1]);
    expect(Array.from(b.labels)).toEqual([5, 6, 7, 8]);
  });

  it('carries segment and position ids of packed blocks', () => {
    const { blocks } = packDocs([I([1, 2, 3]), I([4, 5]), I([6, 7, 8, 9, 10])], 4, { trackSegments: true });
    const b = collate(blocks, 0);
    expect(Array.from(b.segmentIds!)).toEqual([1, 1, 1, 2, 1, 2, 2, 2]);
    expect(Array.from(b.positionIds!)).toEqual([0, 1, 2, 0, 0, 0, 1, 2]);
  });

  it('rows without segments next to rows with them: one segment, positions 0…len-1, pads 0', () => {
    const b = collate([{ inputIds: I([1, 2, 3]), segmentIds: I([1, 1, 2]), positionIds: I([0, 1, 0]) }, I([4, 5])], 9);
    expect(Array.from(b.inputIds)).toEqual([1, 2, 3, 4, 5, 9]);
    expect(Array.from(b.segmentIds!)).toEqual([1, 1, 2, 1, 1, 0]);
    expect(Array.from(b.positionIds!)).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('errors name the problem', () => {
    expect(() => collate([], 0)).toThrow(/no rows/);
    expect(() => collate([I([])], 0)).toThrow(/every row is empty/);
    expect(() => collate([{ inputIds: I([1, 2]), segmentIds: I([1]) }], 0)).toThrow(/row 0 has 2 input ids but 1 segmentIds/);
    expect(() => collate([I([1])], -1)).toThrow(/pad id/);
  });
});
