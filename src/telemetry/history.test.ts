import type { TelemetryEvent } from '../../schemas/telemetry';
import { DecimatedCurve, TelemetryHistory } from './history';

const ev = (type: string, step: number | null, data: unknown = {}): TelemetryEvent =>
  ({ v: 1, type, ts: 0, run_id: 'r', step, source: 't', data }) as unknown as TelemetryEvent;

describe('DecimatedCurve', () => {
  it('keeps the newest half whole and older events at a doubling stride (worked by hand)', () => {
    // 8 points: the newest 4 whole; steps 0..15 aged out. The archive (4) fills with 0,1,2,3; at 4 it
    // halves to 0,2 (stride 2) and takes 4, 6; at 8 it halves to 0,4 (stride 4) and takes 8, 12.
    const c = new DecimatedCurve(8);
    for (let s = 0; s < 20; s++) c.add({ seq: s, e: ev('train.step', s) });
    expect(c.entries().map((x) => x.e.step)).toEqual([0, 4, 8, 12, 16, 17, 18, 19]);
    expect(c.stride).toBe(4);
  });

  it('always covers the first event and stays within its points, however long the run', () => {
    const c = new DecimatedCurve(100);
    for (let s = 0; s < 100_000; s++) {
      c.add({ seq: s, e: ev('train.step', s) });
      if (s % 9973 === 0) expect(c.size).toBeLessThanOrEqual(100);
    }
    const steps = c.entries().map((x) => x.e.step as number);
    expect(steps[0]).toBe(0);
    expect(steps.slice(-50)).toEqual(Array.from({ length: 50 }, (_, i) => 99_950 + i));
    // The old part is evenly spaced at the final stride.
    const old = steps.slice(0, -50);
    for (let i = 1; i < old.length; i++) expect(old[i] - old[i - 1]).toBe(c.stride);
    expect(c.stride).toBeGreaterThan(1);
  });
});

describe('TelemetryHistory', () => {
  it('thins curves, keeps the newest other events, and replays in publishing order', () => {
    const h = new TelemetryHistory({ maxEvents: 3, maxCurvePoints: 4 });
    h.add(ev('run.start', null));
    for (let s = 1; s <= 6; s++) {
      h.add(ev('train.step', s));
      h.add(ev('log', s));
    }
    h.add(ev('actor.counters', null, { actor: 'A' }));
    h.add(ev('actor.counters', null, { actor: 'B' }));
    // train.step curve (4 points: newest 2 + archive 2 at stride 2): aged 1,2,3,4 → [1,3] ; recent [5,6].
    // Ring of 3 others: the last three logs. Counters: one curve per actor.
    expect(h.events().map((e) => `${e.type}:${e.step ?? (e.data as { actor: string }).actor}`)).toEqual([
      'train.step:1', 'train.step:3', 'log:4', 'train.step:5', 'log:5', 'train.step:6', 'log:6', 'actor.counters:A', 'actor.counters:B',
    ]);
    expect(h.trainStepStride).toBe(2);
  });
});
