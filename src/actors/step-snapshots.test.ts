import { parseCacheStreamCursor } from '../../schemas/cache-cursor';
import { parseStreamCursor } from '../../schemas/stream-cursor';
import { splitOutputMetas, stepSnapshotsOf, withCursorSnapshot, withStepSnapshot } from './step-snapshots';

const cacheCursor = {
  kind: 'cache-stream', epoch: 1, read: 4, buffer: { rng: { s: [1, 2, 3, 4] }, phase: 'stream', slots: [3, 0] }, micro: 9,
  check: { blocks: 6, buffer_size: 2, seed: 7 },
};
const streamCursor = {
  kind: 'stream', doc: 1, token: 5, micro: 3,
  shard: {
    epoch: 0, taken: 4, emitted: 2, ended: false, sources: [{ order: 0, pos: 10 }], mix: { rng: null, turn: 0, exhausted: [false] },
    buffer: { rng: { s: [1, 2, 3, 4] }, phase: 'fill', slots: [] }, check: { files: 1, buffer_size: 2, seed: 3, val_size: 1 },
  },
};

describe('step snapshots in data cursors', () => {
  it('a batches step adds its snapshot to the cursor of the micro-batch meta, next to those already there', () => {
    const meta = { epoch: 0, micro: 2, cursor: { epoch: 0, micro: 3, steps: { a: { n: 1 } } } };
    const out = withCursorSnapshot(meta, 'b', { n: 7 });
    expect(out).toEqual({ epoch: 0, micro: 2, cursor: { epoch: 0, micro: 3, steps: { a: { n: 1 }, b: { n: 7 } } } });
    expect(meta.cursor.steps).toEqual({ a: { n: 1 } }); // not changed in place
    expect(stepSnapshotsOf((out as { cursor: unknown }).cursor)).toEqual({ a: { n: 1 }, b: { n: 7 } });
    // a meta without a cursor (or a step without snapshot) is passed on as it is
    expect(withCursorSnapshot({ split: 'eval' }, 'b', { n: 7 })).toEqual({ split: 'eval' });
    expect(withCursorSnapshot(meta, 'b', undefined)).toBe(meta);
  });

  it('a docs / tokens step adds its snapshot to a streamed training batch only', () => {
    expect(withStepSnapshot({ state: { epoch: 0 }, epoch: 0 }, 's', 3)).toEqual({ state: { epoch: 0 }, epoch: 0, steps: { s: 3 } });
    expect(withStepSnapshot({ split: 'train' }, 's', 3)).toEqual({ split: 'train' });
  });

  it('every kind of cursor keeps the snapshots through its checkpoint schema', () => {
    const steps = { rotate: { n: 10 } };
    expect(stepSnapshotsOf(parseCacheStreamCursor({ ...cacheCursor, steps }, 'w'))).toEqual(steps);
    expect(stepSnapshotsOf(parseStreamCursor({ ...streamCursor, steps }, 'w'))).toEqual(steps);
    expect(stepSnapshotsOf({ epoch: 1, micro: 2, steps })).toEqual(steps);
    expect(stepSnapshotsOf(parseCacheStreamCursor(cacheCursor, 'w'))).toEqual({});
    expect(stepSnapshotsOf(null)).toEqual({});
  });

  it('a batches step that splits a micro-batch marks all but the last part (kept by the stream cursor schemas)', () => {
    const meta = { epoch: 0, micro: 5, lastInEpoch: true, cursor: { ...streamCursor, steps: { b: { n: 6 } } } };
    const [first, second, last] = splitOutputMetas(meta, 'b', 3) as { lastInEpoch: boolean; cursor: unknown }[];
    expect(first).toEqual({ ...meta, lastInEpoch: false, cursor: { ...meta.cursor, split: { step: 'b', sent: 1, of: 3 } } });
    expect(second.cursor).toEqual({ ...meta.cursor, split: { step: 'b', sent: 2, of: 3 } });
    expect(last).toBe(meta);
    expect(parseStreamCursor(first.cursor, 'w').split).toEqual({ step: 'b', sent: 1, of: 3 });
    expect(parseCacheStreamCursor({ ...cacheCursor, split: { step: 'b', sent: 1, of: 2 } }, 'w').split).toEqual({ step: 'b', sent: 1, of: 2 });
    expect(splitOutputMetas(meta, 'b', 1)).toEqual([meta]);
    expect(splitOutputMetas({ epoch: 0 }, 'b', 2)).toEqual([{ epoch: 0 }, { epoch: 0 }]);
  });
});
