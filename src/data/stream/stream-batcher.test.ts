import type { StreamShardState } from '../../../schemas/stream-cursor';
import type { PackedBlock } from '../packer';
import { StreamBatcher, type ReadyMicro, type StreamBatcherOptions } from './stream-batcher';

/** A fake shard state per batch: only what the batcher checks (epoch, emitted, taken) matters here. */
function state(batch: number): StreamShardState {
  return {
    epoch: 0, taken: batch * 100, emitted: batch * 100, ended: false, sources: [], mix: { rng: null, turn: 0, exhausted: [] },
    buffer: { rng: { s: [1, 2, 3, 4] }, phase: 'fill', slots: [] }, check: { files: 1, buffer_size: 1, seed: 0, val_size: 0 },
  };
}

/** Batches of documents whose tokens count up 1, 2, 3, …, so every block's content can be derived by hand. */
function corpus(lengths: number[][]): Int32Array[][] {
  let t = 1;
  return lengths.map((b) => b.map((n) => Int32Array.from({ length: n }, () => t++)));
}

function ids(row: Int32Array | PackedBlock): number[] {
  return Array.from(row instanceof Int32Array ? row : row.inputIds);
}

function run(opts: StreamBatcherOptions, batches: Int32Array[][], resumeAt: ReadyMicro | null = null): ReadyMicro[] {
  const b = new StreamBatcher(opts, resumeAt ? resumeAt.cursor : null);
  const out: ReadyMicro[] = [];
  const start = resumeAt ? resumeAt.cursor.shard.emitted / 100 : 0;
  for (let k = start; k < batches.length; k++) out.push(...b.add(batches[k], state(k), 0));
  return out;
}

describe('StreamBatcher', () => {
  const lengths = [[5, 3, 9], [1, 1, 14, 2], [7], [4, 4, 4, 4, 4, 4]];
  const batches = corpus(lengths);
  const total = lengths.flat().reduce((a, b) => a + b, 0); // 66 tokens: 1..66

  it('packs the token stream into consecutive blocks with carry-over and hands out micro-batches when full', () => {
    const out = run({ cutoffLen: 4, packing: true, trackSegments: false, batchSize: 3 }, batches);
    // 66 tokens → 16 blocks of 4 (2 tokens carried) → 5 micro-batches of 3 blocks (one block waiting)
    expect(out.length).toBe(5);
    const flat = out.flatMap((m) => m.rows.flatMap(ids));
    expect(flat).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(total - flat.length).toBe(6);
    // micro-batch 1 ends after token 12: token 12 is the 4th token of doc 2 (tokens 9..17) of batch 0 → next block starts at (0, doc 2, token 4)
    expect(out[0].cursor).toMatchObject({ kind: 'stream', doc: 2, token: 4, micro: 1 });
    expect(out[0].cursor.shard.emitted).toBe(0);
    // micro-batch 2 ends after token 24: batch 1 = docs of 1,1,14,2 tokens = 18..35; 24 is the 5th of doc 2 (20..33)
    expect(out[1].cursor).toMatchObject({ doc: 2, token: 5, micro: 2 });
    expect(out[1].cursor.shard.emitted).toBe(100);
  });

  it('a block ending exactly at a document end points at the next document', () => {
    const out = run({ cutoffLen: 4, packing: true, trackSegments: false, batchSize: 1 }, corpus([[4, 2, 2, 3]]));
    expect(out.map((m) => [m.cursor.doc, m.cursor.token])).toEqual([[1, 0], [3, 0]]);
  });

  for (const [name, opts] of [
    ['packing', { cutoffLen: 4, packing: true, trackSegments: false, batchSize: 3 }],
    ['packing, BOS, segments', { cutoffLen: 5, packing: true, bosId: 999, trackSegments: true, batchSize: 2 }],
    ['one row per document', { cutoffLen: 64, packing: false, trackSegments: false, batchSize: 2 }],
  ] as [string, StreamBatcherOptions][]) {
    it(`${name}: resuming from every micro-batch's cursor gives exactly the rest`, () => {
      const full = run(opts, batches);
      expect(full.length).toBeGreaterThan(3);
      for (let k = 0; k < full.length; k++) {
        const rest = run(opts, batches, full[k]);
        expect(rest.map((m) => m.cursor)).toEqual(full.slice(k + 1).map((m) => m.cursor));
        expect(rest.map((m) => m.rows)).toEqual(full.slice(k + 1).map((m) => m.rows));
      }
    });
  }

  it('writes BOS over every block start and numbers document pieces per block', () => {
    const out = run({ cutoffLen: 5, packing: true, bosId: 999, trackSegments: true, batchSize: 1 }, corpus([[3, 4, 3]]));
    const rows = out.map((m) => m.rows[0] as PackedBlock);
    expect(rows.map((r) => Array.from(r.inputIds))).toEqual([[999, 2, 3, 4, 5], [999, 7, 8, 9, 10]]);
    expect(rows.map((r) => Array.from(r.segmentIds!))).toEqual([[1, 1, 1, 2, 2], [1, 1, 2, 2, 2]]);
    expect(rows.map((r) => Array.from(r.positionIds!))).toEqual([[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]]);
  });

  it('refuses a resumed batch that is not the one the cursor names', () => {
    const full = run({ cutoffLen: 4, packing: true, trackSegments: false, batchSize: 3 }, batches);
    const b = new StreamBatcher({ cutoffLen: 4, packing: true, trackSegments: false, batchSize: 3 }, full[1].cursor);
    expect(() => b.add(batches[0], state(0), 0)).toThrow(/expected the batch at epoch 0, document 100, got epoch 0, document 0/);
  });
});
