import { mapCursorAfterAnchor, rebaseMapCursor, type RebaseAnchor } from './cursor-rebase';
import { mapMicroBatches } from '../cache/block-order';
import { epochOrder, rankShare } from '../data/epoch-order';

describe('rebaseMapCursor: the next unseen block, in the new batch size', () => {
  it.each([
    // [saved cursor, old batch, new batch, re-based cursor] — blocks consumed = micro × old − shift
    [{ epoch: 0, micro: 3 }, 2, 4, { epoch: 0, micro: 2, shift: 2 }], // 6 consumed: micro-batch 2 of 4 starts at 8 − 2
    [{ epoch: 0, micro: 3 }, 2, 2, { epoch: 0, micro: 3 }],
    [{ epoch: 1, micro: 4 }, 3, 2, { epoch: 1, micro: 6 }], // 12 consumed, a multiple of 2
    [{ epoch: 0, micro: 2, shift: 2 }, 4, 3, { epoch: 0, micro: 2 }], // re-based again: 6 consumed
    [{ epoch: 0, micro: 2, shift: 2 }, 4, 5, { epoch: 0, micro: 2, shift: 4 }],
    [{ epoch: 2, micro: 0 }, 2, 4, { epoch: 2, micro: 0 }],
  ])('%j from batch %d to %d → %j', (saved, oldB, newB, want) => {
    expect(rebaseMapCursor(saved, oldB, newB)).toEqual(want);
  });
});

describe('the shifted grid', () => {
  it('micro-batch k covers [k·B − shift, (k+1)·B − shift) clipped to the epoch', () => {
    expect(rankShare(56, 4, 0, 1, 2).microPerEpoch).toBe(15);
    expect(rankShare(56, 4, 0, 1, 0).microPerEpoch).toBe(14);
    expect(rankShare(56, 4, 0, 1, 2).slice(2)).toEqual({ start: 6, end: 10 });
    expect(rankShare(56, 4, 0, 1, 2).slice(14)).toEqual({ start: 54, end: 56 });
    expect(rankShare(56, 4, 0, 1, 2).slice(0)).toEqual({ start: 0, end: 2 });
  });

  it('with two ranks the shifted global micro-batch is cut in rank order', () => {
    // global micro-batch 0 of batch 2 × 2 ranks, shifted by 3 covers [−3, 1): rank 0's slice [−3, −1) is empty, rank 1's [−1, 1) clips to [0, 1)
    expect(rankShare(10, 2, 0, 2, 3).slice(0)).toEqual({ start: 0, end: 0 });
    expect(rankShare(10, 2, 1, 2, 3).slice(0)).toEqual({ start: 0, end: 1 });
    expect(rankShare(10, 2, 0, 2, 3).slice(1)).toEqual({ start: 1, end: 3 });
    expect(rankShare(10, 2, 1, 2, 3).slice(1)).toEqual({ start: 3, end: 5 });
    expect(rankShare(10, 2, 0, 2, 3).microPerEpoch).toBe(4);
  });

  it('the cache block order serves a shifted cursor from the next unseen block, then unshifted epochs', () => {
    const o = { blocks: 10, batchSize: 4, seed: 9, keepOrder: false };
    const gen = mapMicroBatches(o, { epoch: 0, micro: 2, shift: 2 });
    const e0 = epochOrder(10, 0, 9, false);
    const e1 = epochOrder(10, 1, 9, false);
    const a = gen.next().value;
    expect([a.rows, a.last, a.next, a.microPerEpoch]).toEqual([Array.from(e0.slice(6, 10)), true, { epoch: 1, micro: 0 }, 3]);
    const b = gen.next().value;
    expect([b.rows, b.microPerEpoch, b.next]).toEqual([Array.from(e1.slice(0, 4)), 3, { epoch: 1, micro: 1 }]);
  });
});

describe('mapCursorAfterAnchor: where the steps since a re-base leave the data', () => {
  const anchor: RebaseAnchor = { step: 3, epoch: 0, micro: 2, shift: 2, micro_in_epoch: 15 };
  it.each([
    // [steps since the anchor, gradient accumulation, unshifted micro-batches per epoch, cursor]
    [0, 1, 14, { epoch: 0, micro: 2, shift: 2 }],
    [2, 1, 14, { epoch: 0, micro: 4, shift: 2 }],
    [13, 1, 14, { epoch: 1, micro: 0 }], // 13 micro-batches were left in the shifted epoch
    [14, 1, 14, { epoch: 1, micro: 1 }],
    [3, 2, 14, { epoch: 0, micro: 8, shift: 2 }],
    [7, 2, 14, { epoch: 1, micro: 0 }], // ceil(13 / 2) = 7 steps, the last one short
    [8, 2, 14, { epoch: 1, micro: 2 }],
    [14, 2, 14, { epoch: 2, micro: 0 }],
  ])('%d steps, accumulation %d, %d per epoch → %j', (steps, ga, mpe, want) => {
    expect(mapCursorAfterAnchor(anchor, steps, mpe, ga)).toEqual(want);
  });

  it('an anchor where ignore_data_skip restarted the data counts as a fresh start', () => {
    const restart: RebaseAnchor = { step: 3, epoch: 0, micro: 0, shift: 0, micro_in_epoch: 14 };
    expect(mapCursorAfterAnchor(restart, 2, 14, 1)).toEqual({ epoch: 0, micro: 2 });
    expect(mapCursorAfterAnchor(restart, 15, 14, 1)).toEqual({ epoch: 1, micro: 1 });
  });
});
