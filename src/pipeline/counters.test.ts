/**
 * The per-actor counters, sampled on a timer from real worker threads: busy + waiting + blocked never
 * exceed the wall time, a finished actor's clock stops, and a producer parked for credit until the
 * run ends is counted as blocked, not busy.
 */
import type { ActorCounters, TelemetryEvent } from '../../schemas/telemetry';
import { TelemetryBus } from '../telemetry/bus';
import { startPipeline } from './supervisor';
import type { PipelineGraph } from './graph';

type Sample = TelemetryEvent<'actor.counters'>['data'] & { ts: number };

function graph(count: number, window: number, sink: { delayMs: number; take?: number }): PipelineGraph {
  return {
    actors: [
      { name: 'source', module: 'src/pipeline/testing/number-source', params: { count, bytes: 256 }, inputs: [], outputs: ['out'], maxRestarts: 0 },
      { name: 'sink', module: 'src/pipeline/testing/slow-sink', params: sink, inputs: ['in'], outputs: [], maxRestarts: 0 },
    ],
    edges: [{ from: { actor: 'source', port: 'out' }, to: { actor: 'sink', port: 'in' }, schema: 'bytes', window, byteBudget: Infinity }],
  };
}

async function run(g: PipelineGraph): Promise<{ samples: Map<string, Sample[]>; events: TelemetryEvent[] }> {
  const bus = new TelemetryBus('counters');
  const events: TelemetryEvent[] = [];
  bus.subscribe((e) => events.push(e));
  await startPipeline(g, { bus, finishers: ['sink'], sampleIntervalMs: 40 }).done;
  const samples = new Map<string, Sample[]>();
  for (const e of events) {
    if (e.type !== 'actor.counters') continue;
    const d = e.data as TelemetryEvent<'actor.counters'>['data'];
    samples.set(d.actor, [...(samples.get(d.actor) ?? []), { ...d, ts: e.ts }]);
  }
  return { samples, events };
}

function expectConsistent(c: ActorCounters): void {
  // The parts are rounded to whole milliseconds each.
  expect(c.waitingForInputMs + c.blockedOnOutputMs).toBeLessThanOrEqual(c.wallMs + 2);
  expect(c.busyMs + c.waitingForInputMs + c.blockedOnOutputMs).toBeLessThanOrEqual(c.wallMs + 2);
  expect(c.busyMs).toBeGreaterThanOrEqual(0);
}

describe('actor counters', () => {
  it('are sampled while actors run; a source that finished early stops accruing busy time', async () => {
    // The source sends 4 messages into a window of 4 and finishes at once; the sink takes ~4 × 120 ms.
    const { samples, events } = await run(graph(4, 4, { delayMs: 120 }));
    const source = samples.get('source')!;
    const sink = samples.get('sink')!;
    for (const s of [...source, ...sink]) expectConsistent(s.counters);
    // Sampled on the timer while running, not only at the end.
    expect(sink.filter((s) => !s.finished).length).toBeGreaterThanOrEqual(4);
    expect(events.some((e) => e.type === 'memory' && (e.data as { thread: string }).thread === 'main')).toBe(true);
    expect(events.find((e) => e.type === 'pipeline.graph')?.data).toEqual({
      actors: [
        { name: 'source', inputs: [], outputs: ['out'], max_restarts: 0 },
        { name: 'sink', inputs: ['in'], outputs: [], max_restarts: 0 },
      ],
      edges: [{ from: 'source.out', to: 'sink.in', schema: 'bytes', window: 4, byte_budget: null }],
    });
    // The source's clock stopped when it finished: every later sample (the final report at the
    // run's end included) repeats the finished one, though the run went on for the sink's ~480 ms.
    const done = source.findIndex((s) => s.finished);
    expect(done).toBeGreaterThanOrEqual(0);
    for (const s of source.slice(done)) expect(s.counters).toEqual(source[done].counters);
    expect(source[source.length - 1].ts - source[done].ts).toBeGreaterThan(0);
    const sinkWall = sink[sink.length - 1].counters.wallMs;
    expect(source[done].counters.busyMs).toBeLessThan(sinkWall / 4);
    expect(source[done].counters.messagesOut).toBe(4);
  });

  it('count a producer parked for credit until the run ends as blocked, not busy', async () => {
    // The sink takes 3 of 50 messages and ends the run; the source waits for credit until it is stopped.
    // 400 ms a message: the 40 ms sampling timer fires several times within the last one, even late.
    const { samples } = await run(graph(50, 1, { delayMs: 400, take: 3 }));
    const source = samples.get('source')!;
    for (const s of [...source, ...samples.get('sink')!]) expectConsistent(s.counters);
    const last = source[source.length - 1];
    expect(last.finished).toBe(false);
    // The block in progress is counted in the samples taken during it, not only once it ends.
    const mid = source.filter((s) => s.counters.messagesOut === last.counters.messagesOut);
    expect(mid.length).toBeGreaterThanOrEqual(2);
    expect(mid[mid.length - 1].counters.blockedOnOutputMs).toBeGreaterThan(mid[0].counters.blockedOnOutputMs);
    expect(last.counters.blockedOnOutputMs).toBeGreaterThan(0.6 * last.counters.wallMs);
    expect(last.counters.busyMs).toBeLessThan(0.4 * last.counters.wallMs);
    expect(last.ports).toEqual([{ port: 'out', dir: 'out', messages: last.counters.messagesOut, bytes: 256 * last.counters.messagesOut, queued: expect.any(Number), window: null }]);
  });
});
