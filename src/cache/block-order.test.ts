/**
 * Micro-batch orders of a cache run: map mode against the in-memory collator's loop (a seeded
 * permutation per epoch, cut into micro-batches) and the data-parallel split (each rank a slice of
 * the micro-batch one process with the whole global batch takes);
 * streaming against a hand-run shuffle buffer, and its data-parallel split against one process with
 * the global batch; and resuming from any cursor against the uninterrupted run.
 */
import { epochOrder, rankShare } from '../data/epoch-order';
import { Rng } from '../data/rng';
import { mapMicroBatches, streamMicroBatches, streamStart, type MicroBatchRows } from './block-order';
import type { CacheStreamCursor } from '../../schemas/cache-cursor';

function take<T>(g: Generator<T>, n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(g.next().value as T);
  return out;
}

describe('epochOrder', () => {
  it('is a permutation, fixed by (seed, epoch), different across epochs and seeds', () => {
    const a = epochOrder(1000, 0, 42, false);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochOrder(1000, 0, 42, false)).toEqual(a);
    const b = epochOrder(1000, 1, 42, false);
    const c = epochOrder(1000, 0, 43, false);
    const same = (x: Uint32Array, y: Uint32Array) => x.filter((v, i) => v === y[i]).length;
    expect(same(a, b)).toBeLessThan(20); // ~1 fixed point expected for independent permutations
    expect(same(a, c)).toBeLessThan(20);
    expect(Array.from(epochOrder(5, 3, 42, true))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('mapMicroBatches', () => {
  const n = 23;
  const B = 4;

  /** CollatorActor's loop, written out: epoch permutation, consecutive slices of B. */
  function reference(epochs: number): number[][] {
    const out: number[][] = [];
    for (let e = 0; e < epochs; e++) {
      const order = new Rng(9, e).permutation(n);
      for (let j = 0; j < n; j += B) out.push(Array.from(order.slice(j, Math.min(n, j + B))));
    }
    return out;
  }

  it('one rank: the in-memory collator\'s micro-batches, two epochs, with the cursor of the next one', () => {
    const got = take(mapMicroBatches({ blocks: n, batchSize: B, seed: 9, keepOrder: false }, { epoch: 0, micro: 0 }), 12);
    expect(got.map((m) => m.rows)).toEqual(reference(2));
    expect(got[5]).toMatchObject({ epoch: 0, micro: 5, microPerEpoch: 6, last: true, next: { epoch: 1, micro: 0 } });
    expect(got[7]).toMatchObject({ epoch: 1, micro: 1, last: false, next: { epoch: 1, micro: 2 } });
  });

  it.each([2, 3, 5])('%i ranks × batch B: slices, in rank order, of the micro-batches one process with batch W·B takes', (W) => {
    // One process with batch W·B, written out by hand: the epoch permutation cut into slices of W·B.
    for (let e = 0; e < 2; e++) {
      const perm = Array.from(new Rng(9, e).permutation(n));
      const globalMicros: number[][] = [];
      for (let j = 0; j < n; j += W * B) globalMicros.push(perm.slice(j, Math.min(n, j + W * B)));
      const perRank = Array.from({ length: W }, (_, r) =>
        take(mapMicroBatches({ blocks: n, batchSize: B, seed: 9, keepOrder: false, rank: r, worldSize: W }, { epoch: e, micro: 0 }), globalMicros.length));
      globalMicros.forEach((want, m) => {
        const got = perRank.map((ms) => ms[m]);
        expect(got.flatMap((x) => x.rows)).toEqual(want); // disjoint, in rank order, nothing repeated
        for (const x of got) expect(x.rows.length).toBeLessThanOrEqual(B);
        for (const x of got) expect(x).toMatchObject({ epoch: e, micro: m, microPerEpoch: globalMicros.length, last: m === globalMicros.length - 1 });
      });
    }
    // 23 blocks, 5 ranks × 4: the last global micro-batch holds 3 blocks, so ranks 1..4 get none.
    if (W === 5) {
      const last = take(mapMicroBatches({ blocks: n, batchSize: B, seed: 9, keepOrder: false, rank: 4, worldSize: 5 }, { epoch: 0, micro: 1 }), 1)[0];
      expect(last).toMatchObject({ micro: 1, last: true, rows: [] });
    }
    expect(() => rankShare(n, B, W, W)).toThrow(/rank must be an integer in 0\.\.\d+/);
  });

  it('resuming at any cursor continues exactly as the uninterrupted run', () => {
    const o = { blocks: n, batchSize: B, seed: 9, keepOrder: false, rank: 1, worldSize: 2 };
    const all = take(mapMicroBatches(o, { epoch: 0, micro: 0 }), 15);
    for (let k = 0; k < 10; k++) {
      const resumed = take(mapMicroBatches(o, all[k].next), 5);
      expect(resumed).toEqual(all.slice(k + 1, k + 6));
    }
  });
});

describe('streamMicroBatches', () => {
  const o = { blocks: 29, batchSize: 4, bufferSize: 6, seed: 3 };

  /** The buffer algorithm by hand (fill, random slot out, final shuffled drain), epoch e. */
  function referenceEpoch(e: number): number[] {
    const rng = new Rng(o.seed, e);
    const buf: number[] = [];
    const out: number[] = [];
    for (let i = 0; i < o.blocks; i++) {
      if (buf.length < o.bufferSize) buf.push(i);
      else {
        const s = rng.nextBelow(o.bufferSize);
        out.push(buf[s]);
        buf[s] = i;
      }
    }
    const perm = rng.permutation(buf.length);
    for (const j of perm) out.push(buf[j]);
    return out;
  }

  it('reads blocks in order, each epoch a shuffle-buffer permutation; memory bounded by the buffer', () => {
    const loaded: number[] = [];
    let resident = 0;
    let most = 0;
    const g = streamMicroBatches(o, streamStart(o), (i) => {
      loaded.push(i);
      most = Math.max(most, ++resident);
    });
    const per = Math.ceil(o.blocks / o.batchSize);
    const got: MicroBatchRows<CacheStreamCursor>[] = [];
    for (let k = 0; k < 2 * per; k++) {
      const mb = g.next().value as MicroBatchRows<CacheStreamCursor>;
      resident -= mb.rows.length;
      got.push(mb);
    }
    const ep = (e: number) => got.filter((m) => m.epoch === e).flatMap((m) => m.rows);
    expect(ep(0)).toEqual(referenceEpoch(0));
    expect(ep(1)).toEqual(referenceEpoch(1));
    expect(loaded).toEqual([...Array.from({ length: o.blocks }, (_, i) => i), ...Array.from({ length: o.blocks }, (_, i) => i)]);
    expect(most).toBeLessThanOrEqual(o.bufferSize + o.batchSize);
    expect(got.map((m) => m.micro)).toEqual([...Array.from({ length: per }, (_, i) => i), ...Array.from({ length: per }, (_, i) => i)]);
    expect(got[per - 1].last).toBe(true);
  });

  it('resuming from any cursor (filling, streaming, draining, next epoch) continues exactly', () => {
    const all = take(streamMicroBatches(o, streamStart(o), () => undefined), 20);
    for (let k = 0; k < 14; k++) {
      const reloaded: number[] = [];
      const resumed = take(streamMicroBatches(o, JSON.parse(JSON.stringify(all[k].next)), (i) => reloaded.push(i)), 6);
      expect(resumed.map((m) => [m.epoch, m.micro, m.rows])).toEqual(all.slice(k + 1, k + 7).map((m) => [m.epoch, m.micro, m.rows]));
      // the resident blocks are read again first: no more than the buffer
      expect(all[k].next.buffer.slots.length).toBeLessThanOrEqual(o.bufferSize);
    }
    const phases = new Set(all.map((m) => m.next.buffer.phase));
    expect(phases).toEqual(new Set(['stream', 'drain', 'fill']));
  });

  it.each([2, 3])('%i ranks × batch 4: slices, in rank order, of the micro-batches one process with batch W·4 takes, with its cursors', (W) => {
    const per = Math.ceil(o.blocks / (W * o.batchSize));
    const one = take(streamMicroBatches({ ...o, batchSize: W * o.batchSize }, streamStart(o), () => undefined), 2 * per);
    const ranks = Array.from({ length: W }, (_, r) => take(streamMicroBatches({ ...o, rank: r, worldSize: W }, streamStart(o), () => undefined), 2 * per));
    one.forEach((want, m) => {
      const got = ranks.map((g) => g[m]);
      expect(got.flatMap((x) => x.rows)).toEqual(want.rows); // disjoint, in rank order, nothing repeated
      got.forEach((x, r) => {
        expect(x.rows.length).toBeLessThanOrEqual(o.batchSize);
        // what the other ranks train on, so the caller can release it
        expect([...x.rows, ...(x.others ?? [])].sort((a, b) => a - b)).toEqual([...want.rows].sort((a, b) => a - b));
        expect({ r, epoch: x.epoch, micro: x.micro, microPerEpoch: x.microPerEpoch, last: x.last, next: x.next })
          .toEqual({ r, epoch: want.epoch, micro: want.micro, microPerEpoch: want.microPerEpoch, last: want.last, next: want.next });
      });
    });
    // 29 blocks in global micro-batches of 8 or 12: each epoch ends short (5 blocks), rank 1 of 2 gets 1, ranks 1 and 2 of 3 none and 0.
    const lastOfEpoch = ranks.map((g) => g[per - 1].rows.length);
    expect(lastOfEpoch).toEqual(W === 2 ? [4, 1] : [4, 1, 0]);
    // A cursor written by rank 1 of W resumes one process with the global batch on the same blocks.
    const resumed = take(streamMicroBatches({ ...o, batchSize: W * o.batchSize }, JSON.parse(JSON.stringify(ranks[1][1].next)), () => undefined), 3);
    expect(resumed.map((m) => m.rows)).toEqual(one.slice(2, 5).map((m) => m.rows));
  });

  it('refuses a cursor made for other data or settings', () => {
    const c = streamStart(o);
    expect(() => streamMicroBatches({ ...o, blocks: 30 }, c, () => undefined).next()).toThrow(/made for 29 blocks, buffer_size 6, seed 3; this run has 30, 6, 3/);
  });
});
