import { TelemetryBus } from '../telemetry/bus';
import { startPipeline } from './supervisor';
import type { PipelineGraph } from './graph';

function graph(count: number, window: number, failAt?: number): PipelineGraph {
  return {
    actors: [
      { name: 'source', module: 'src/pipeline/testing/number-source', params: { count, bytes: 1024, failAt: failAt ?? null }, inputs: [], outputs: ['out'], maxRestarts: 0 },
      { name: 'sink', module: 'src/pipeline/testing/slow-sink', params: { delayMs: 4 }, inputs: ['in'], outputs: [], maxRestarts: 0 },
    ],
    edges: [{ from: { actor: 'source', port: 'out' }, to: { actor: 'sink', port: 'in' }, schema: 'bytes', window, byteBudget: Infinity }],
  };
}

describe('pipeline supervisor', () => {
  it('delivers every message once, in order, with the consumer queue bounded by its credit window', async () => {
    const bus = new TelemetryBus('t1');
    const events: string[] = [];
    bus.subscribe((e) => events.push(e.type));
    const p = startPipeline(graph(60, 3), { bus });
    const results = await p.done;
    const sink = results.get('sink') as { seen: number[]; sum: number; maxQueueDepth: number };
    const source = results.get('source') as { sent: number; blockedMs: number };
    expect(sink.seen).toEqual(Array.from({ length: 60 }, (_, i) => i % 251));
    // Σ_i 1024 · i for i < 60
    expect(sink.sum).toBe(1024 * ((59 * 60) / 2));
    expect(sink.maxQueueDepth).toBeLessThanOrEqual(3);
    // The sink is slower than the source, so the source must have waited for credit.
    expect(source.blockedMs).toBeGreaterThan(20);
    expect(events).toContain('actor.counters');
    expect(events).toContain('actor.start');
  });

  it('stops the run with an error naming the failed actor', async () => {
    const bus = new TelemetryBus('t2');
    const p = startPipeline(graph(20, 2, 5), { bus });
    await expect(p.done).rejects.toThrow(/actor source failed: injected failure at message 5/);
  });

  it('rejects a graph with an unconnected port before starting anything', () => {
    const g = graph(1, 1);
    g.edges = [];
    expect(() => startPipeline(g, { bus: new TelemetryBus('t3') })).toThrow(/output source.out is not connected/);
  });
});
