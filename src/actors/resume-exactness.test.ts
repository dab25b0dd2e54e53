import { defineActor, type ActorDefinition, type EdgeKind } from './api';
import { inexactReason, inexactResumeWarning } from './resume-exactness';

const actor = (input: EdgeKind, kind: 'stateless' | 'snapshot' | 'flush' | 'serial'): ActorDefinition =>
  defineActor<Record<string, never>, { n: number }>({
    name: `${input}_${kind}`, input, output: input,
    process: (b) => b,
    ...(kind === 'snapshot' ? { snapshot: (s: { n: number }) => ({ n: s.n }), restore: () => ({ n: 0 }) } : {}),
    ...(kind === 'flush' ? { flush: () => undefined } : {}),
    ...(kind === 'serial' ? { parallel: false } : {}),
  }) as ActorDefinition;

const map = { streaming: false, worldSize: 1 };
const streamed = { streaming: true, worldSize: 1 };
const step = (input: EdgeKind, kind: Parameters<typeof actor>[1]) => ({ name: 's', def: actor(input, kind) });

describe('which steps resume exactly', () => {
  it('stateless steps always do', () => {
    for (const input of ['docs', 'tokens', 'batches'] as const) {
      for (const mode of [map, streamed, { streaming: true, worldSize: 2 }]) expect(inexactReason(step(input, 'stateless'), mode, {})).toBeNull();
    }
  });

  it('docs and tokens steps of a map-style run meet every document again: no snapshot needed', () => {
    for (const input of ['docs', 'tokens'] as const) {
      for (const kind of ['snapshot', 'flush', 'serial'] as const) expect(inexactReason(step(input, kind), map, {})).toBeNull();
    }
  });

  it('streamed docs / tokens steps and batches steps of any run need the snapshot in the checkpoint', () => {
    for (const [input, mode] of [['docs', streamed], ['tokens', streamed], ['batches', streamed], ['batches', map]] as const) {
      expect(inexactReason(step(input, 'snapshot'), mode, { s: { n: 3 } })).toBeNull();
      expect(inexactReason(step(input, 'snapshot'), mode, { other: { n: 3 } })).toBe('the checkpoint holds no snapshot of it');
      expect(inexactReason(step(input, 'flush'), mode, { s: { n: 3 } })).toBe('no snapshot/restore');
      expect(inexactReason(step(input, 'serial'), mode, {})).toBe('no snapshot/restore');
    }
  });

  it('with several processes a batches step holds per-rank state the checkpoint does not', () => {
    expect(inexactReason(step('batches', 'snapshot'), { streaming: false, worldSize: 2 }, { s: {} })).toMatch(/2 processes.*rank 0's/);
    expect(inexactReason(step('docs', 'snapshot'), { streaming: true, worldSize: 2 }, { s: {} })).toBeNull();
  });

  it("a checkpoint with every rank's cursor: exact on as many ranks; on others the resume check has warned already", () => {
    expect(inexactReason(step('batches', 'snapshot'), { streaming: false, worldSize: 2, rankCursors: 'own' }, { s: {} })).toBeNull();
    expect(inexactReason(step('batches', 'snapshot'), { streaming: false, worldSize: 3, rankCursors: 'rank0' }, { s: {} })).toBeNull();
    // ...which does not excuse a missing snapshot or a step without snapshot/restore.
    expect(inexactReason(step('batches', 'snapshot'), { streaming: false, worldSize: 2, rankCursors: 'own' }, {})).toBe('the checkpoint holds no snapshot of it');
    expect(inexactReason(step('batches', 'serial'), { streaming: false, worldSize: 2, rankCursors: 'own' }, {})).toBe('no snapshot/restore');
  });

  it('a split cursor from the data\'s beginning: the steps start as they did, no snapshot needed', () => {
    expect(inexactReason(step('batches', 'snapshot'), { ...map, fromStart: true }, {})).toBeNull();
    expect(inexactReason(step('batches', 'flush'), { ...map, fromStart: true }, {})).toBe('no snapshot/restore');
  });

  it('one warning names every inexact step, none when all resume exactly', () => {
    const steps = [
      { name: 'a', def: actor('docs', 'serial') },
      { name: 'b', def: actor('batches', 'snapshot') },
      { name: 'c', def: actor('batches', 'flush') },
      { name: 'd', def: actor('docs', 'stateless') },
    ];
    expect(inexactResumeWarning(steps, map, { b: 1 })).toBe(
      "warning: resuming with stateful pipeline step 'c' (no snapshot/restore), which the checkpoint cannot put back in the state of the checkpoint: " +
        'the token stream is not guaranteed to match an uninterrupted run.',
    );
    expect(inexactResumeWarning(steps, streamed, {})).toMatch(/^warning: resuming with stateful pipeline steps 'a' \(no snapshot\/restore\), 'b' \(the checkpoint holds no snapshot of it\), 'c' \(no snapshot\/restore\), which/);
    expect(inexactResumeWarning(steps.slice(1, 2), map, { b: 1 })).toBeNull();
  });
});
