import { parseCacheStreamCursor } from '../../schemas/cache-cursor';
import { parseStreamCursor } from '../../schemas/stream-cursor';
import { parseSplitCursor } from '../../schemas/split-cursor';
import type { JsonValue } from '../../schemas/ports';
import { resumeAtStep, sourceCursorOf, splitOutputMetas, stepSnapshotsOf, withCursorSnapshot, withStepSnapshot } from './step-snapshots';

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

  it('a batches step that splits a micro-batch gives all but the last part a split cursor from the cursor before the input', () => {
    const meta = { epoch: 0, micro: 5, lastInEpoch: true, cursor: { ...streamCursor, steps: { b: { n: 6 } } } };
    const before = { ...streamCursor, micro: 2, steps: { b: { n: 5 } } };
    const [first, second, last] = splitOutputMetas(meta, 'b', 3, before) as { lastInEpoch: boolean; cursor: unknown }[];
    expect(first).toEqual({ ...meta, lastInEpoch: false, cursor: { kind: 'split', from: before, skip: [{ step: 'b', outputs: 1 }] } });
    expect(second.cursor).toEqual({ kind: 'split', from: before, skip: [{ step: 'b', outputs: 2 }] });
    expect(last).toBe(meta);
    // The first input of a run: the split starts from the data's beginning.
    expect((splitOutputMetas(meta, 'b', 2, null)[0] as { cursor: unknown }).cursor).toEqual({ kind: 'split', from: null, skip: [{ step: 'b', outputs: 1 }] });
    // A part of an earlier step's split, split again: one cursor, both skips in edge order.
    const upstream = { kind: 'split', from: before, skip: [{ step: 'a', outputs: 2 }], steps: { b: { n: 5 } } };
    expect((splitOutputMetas(meta, 'b', 2, upstream)[0] as { cursor: unknown }).cursor).toEqual({
      kind: 'split', from: before, skip: [{ step: 'a', outputs: 2 }, { step: 'b', outputs: 1 }], steps: { b: { n: 5 } },
    });
    expect(splitOutputMetas(meta, 'b', 1, before)).toEqual([meta]);
    expect(splitOutputMetas({ epoch: 0 }, 'b', 2, before)).toEqual([{ epoch: 0 }, { epoch: 0 }]);
  });

  it('a split cursor: its own snapshots win over those of the cursor it starts from; the source resumes from that one', () => {
    const from = { epoch: 0, micro: 4, steps: { a: { n: 1 }, b: { n: 2 } } };
    const split = { kind: 'split' as const, from, skip: [{ step: 'a', outputs: 1 }], steps: { b: { n: 3 }, c: { n: 9 } } };
    expect(stepSnapshotsOf(split)).toEqual({ a: { n: 1 }, b: { n: 3 }, c: { n: 9 } });
    expect(sourceCursorOf(split)).toBe(from);
    expect(sourceCursorOf(from)).toBe(from);
    expect(sourceCursorOf({ ...split, from: null })).toBeNull();
  });

  it('where each batches step resumes: the skips of the steps upstream stay in the cursor before its input', () => {
    const from = { epoch: 0, micro: 4 };
    const cursor = { kind: 'split', from, skip: [{ step: 'a', outputs: 2 }, { step: 'c', outputs: 1 }], steps: { c: { n: 1 } } };
    const chain = ['a', 'b', 'c'];
    expect(resumeAtStep(cursor, chain, 'a')).toEqual({ before: from, skip: 2 });
    expect(resumeAtStep(cursor, chain, 'b')).toEqual({ before: { ...cursor, skip: [{ step: 'a', outputs: 2 }] }, skip: 0 });
    expect(resumeAtStep(cursor, chain, 'c')).toEqual({ before: { ...cursor, skip: [{ step: 'a', outputs: 2 }] }, skip: 1 });
    expect(resumeAtStep(from, chain, 'c')).toEqual({ before: from, skip: 0 });
  });

  it('the split cursor schema: its start is checked as a cursor of its own, and it cannot nest', () => {
    const parseFrom = (from: unknown, where: string) => parseStreamCursor(from, where);
    const ok = { kind: 'split', from: streamCursor, skip: [{ step: 'b', outputs: 1 }], steps: { b: { n: 1 } } };
    expect(parseSplitCursor(ok, 'w', parseFrom)).toEqual(ok);
    expect(parseSplitCursor({ ...ok, from: null }, 'w', parseFrom).from).toBeNull();
    expect(() => parseSplitCursor({ ...ok, from: { ...streamCursor, doc: -1 } }, 'ps.json: field cursor', parseFrom)).toThrow(/ps\.json: field cursor\.from: invalid stream cursor at doc/);
    expect(() => parseSplitCursor({ ...ok, from: ok }, 'w', parseFrom)).toThrow(/cannot start from another split cursor/);
    expect(() => parseSplitCursor({ ...ok, skip: [] }, 'w', parseFrom)).toThrow(/invalid split cursor at skip/);
    expect(() => parseSplitCursor({ ...ok, skip: [{ step: 'b', outputs: 0 }] }, 'w', parseFrom)).toThrow(/at skip\.0\.outputs/);
    expect(() => parseSplitCursor({ ...ok, skip: [{ step: 'b', outputs: 1 }, { step: 'b', outputs: 2 }] }, 'w', parseFrom)).toThrow(/step 'b' is named twice/);
  });
});

/**
 * A chain of stateful batches steps that drop, pass and split micro-batches, run as StepActor runs them,
 * resumed from the cursor of every micro-batch the "trainer" took: each resumed run must give exactly
 * the rest of the uninterrupted run.
 */
describe('resuming a chain of splitting steps from any micro-batch', () => {
  type State = { n: number };
  interface SimStep { name: string; make(x: string, s: State): string[] }
  // a: every 3rd input in two parts, every 4th dropped; b: every 2nd input in three parts; c: passes, counting.
  const chain: SimStep[] = [
    { name: 'a', make: (x, s) => (s.n % 4 === 3 ? [] : s.n % 3 === 1 ? [`${x}.a1`, `${x}.a2`] : [`${x}.a${s.n}`]) },
    { name: 'b', make: (x, s) => (s.n % 2 === 0 ? [`${x}.b1`, `${x}.b2`, `${x}.b3`] : [`${x}.b`]) },
    { name: 'c', make: (x, s) => [`${x}.c${s.n}`] },
  ];
  const names = chain.map((s) => s.name);
  const SOURCE = 12;

  /** The micro-batches the trainer gets, each with its meta's cursor, from `resume` (null: a fresh run). */
  const run = (resume: JsonValue): { x: string; cursor: JsonValue }[] => {
    const start = sourceCursorOf(resume as never) as { micro: number } | null;
    let metas: { x: string; meta: JsonValue }[] = [];
    for (let i = start?.micro ?? 0; i < SOURCE; i++) metas.push({ x: `m${i}`, meta: { micro: i, cursor: { epoch: 0, micro: i + 1 } } });
    const snapshots = stepSnapshotsOf(resume);
    for (const step of chain) {
      const state: State = snapshots[step.name] !== undefined ? { ...(snapshots[step.name] as State) } : { n: 0 };
      let { before, skip } = resume === null ? { before: null as JsonValue, skip: 0 } : resumeAtStep(resume, names, step.name);
      const next: typeof metas = [];
      for (const { x, meta: input } of metas) {
        const outputs = step.make(x, state);
        state.n++;
        const meta = withCursorSnapshot(input, step.name, { n: state.n });
        const split = splitOutputMetas(meta, step.name, outputs.length, before);
        outputs.forEach((o, i) => i >= skip && next.push({ x: o, meta: split[i] }));
        skip = 0;
        before = (meta as { cursor: JsonValue }).cursor;
      }
      metas = next;
    }
    return metas.map((m) => ({ x: m.x, cursor: (m.meta as { cursor: JsonValue }).cursor }));
  };

  it('every cursor resumes exactly where the trainer stopped', () => {
    const full = run(null);
    expect(full.length).toBeGreaterThan(SOURCE + 4);
    // Splits nest: a part of a's split, split again by b.
    expect(full.some((m) => (m.cursor as { skip?: unknown[] }).skip?.length === 2)).toBe(true);
    for (let k = 1; k < full.length; k++) {
      // Through JSON, as a checkpoint holds it.
      const resumed = run(JSON.parse(JSON.stringify(full[k - 1].cursor)) as JsonValue);
      expect(resumed.map((m) => m.x)).toEqual(full.slice(k).map((m) => m.x));
      // ...and so does every cursor of the resumed run (a second interruption).
      for (let j = 1; j < resumed.length; j++) {
        const again = run(JSON.parse(JSON.stringify(resumed[j - 1].cursor)) as JsonValue);
        expect(again.map((m) => m.x)).toEqual(full.slice(k + j).map((m) => m.x));
      }
    }
  });
});
