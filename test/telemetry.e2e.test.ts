/**
 * Telemetry of a tiny real run (real worker threads, real files), in process so every bus event is
 * seen: the counters add up within each actor's wall time, the finished source actor stops accruing
 * busy time, the trainer's wait before its first step is what the pipeline made it wait, and the
 * warnings printed are `log` events too. The tokenizer is made slow on purpose (`spin` fault: it
 * computes for SPIN_MS before each of its two messages).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ActorCounters, TelemetryEvent } from '../schemas/telemetry';
import { pipelineStatsSchema } from '../schemas/pipeline-stats';
import { SPIN_MS } from '../src/faults';
import { TelemetryBus } from '../src/telemetry/bus';
import { runTrain } from '../src/workflow/train';
import { tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

describe('telemetry of a real run', () => {
  const dir = tmpDir('ptflow-telemetry-');
  const out = path.join(dir, 'out');
  const events: TelemetryEvent[] = [];
  let printed = '';

  beforeAll(async () => {
    const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
      model_name_or_path: tinyModelDir(dir), train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
      dataset: 'kjv', dataset_dir: tinyDataset(dir, 12), cutoff_len: 16, val_size: 2, per_device_train_batch_size: 3,
      learning_rate: 0.01, max_steps: 4, logging_steps: 2, save_steps: 100, tokenizer_workers: 1, seed: 3, output_dir: out,
      report_to: 'wandb', // not supported: a warning, which must also be a log event
    });
    const bus = new TelemetryBus('telemetry-e2e');
    bus.subscribe((e) => events.push(e));
    const sink = new Writable({ write: (c, _e, done) => ((printed += c.toString()), done()) });
    process.env.PTFLOW_FAULTS = 'spin:TokenizerActor@1,spin:TokenizerActor@2';
    process.env.PTFLOW_CACHE_READ = 'memory'; // the reader → tokenizer → collator path, where the spins are
    try {
      const r = await runTrain(cfg, [], { out: sink, bus, tty: false });
      expect(r.status).toBe('completed');
    } finally {
      delete process.env.PTFLOW_FAULTS;
      delete process.env.PTFLOW_CACHE_READ;
    }
  }, 300_000);

  const of = <K extends TelemetryEvent['type']>(type: K) => events.filter((e) => e.type === type) as TelemetryEvent<K>[];

  it('carries run start and stop, the graph, every step, and memory per thread', () => {
    expect(events[0].type).toBe('log'); // the config warning comes first
    expect(events.every((e) => e.v === 2 && e.run_id === 'telemetry-e2e')).toBe(true);
    expect(of('run.start')).toHaveLength(1);
    expect(of('run.stop').map((e) => e.data.status)).toEqual(['completed']);
    expect(of('pipeline.graph')[0].data.actors.map((a) => a.name)).toEqual(expect.arrayContaining(['DatasetShardActor', 'TokenizerActor', 'CollatorActor', 'TrainerActor']));
    expect(of('train.step').map((e) => e.step)).toEqual([1, 2, 3, 4]);
    for (const e of of('train.step')) expect(Object.keys(e.data).sort()).toEqual(['data_wait_ms', 'epoch', 'grad_norm', 'learning_rate', 'loss', 'step_time_ms', 'tokens', 'tokens_per_second', 'total_steps'].sort());
    const threads = new Set(of('memory').map((e) => e.data.thread));
    for (const t of ['main', 'DatasetShardActor', 'TokenizerActor', 'CollatorActor', 'TrainerActor']) expect(threads).toContain(t);
  });

  it('publishes the warnings it prints as log events', () => {
    expect(printed).toMatch(/warning: report_to wandb is ignored/);
    const logs = of('log').filter((e) => e.source === 'main');
    expect(logs.map((e) => [e.data.level, e.data.message])).toContainEqual(['warn', expect.stringMatching(/^report_to wandb is ignored/)]);
    expect(logs.map((e) => e.data.message)).toContainEqual(expect.stringMatching(/^Done\. Outputs in /));
    // printed once, not once more by the progress display
    expect(printed.match(/report_to wandb is ignored/g)).toHaveLength(1);
  });

  it('publishes an error that stops the run as an error log event', async () => {
    const bus = new TelemetryBus('failing');
    const seen: TelemetryEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const err = await runTrain(path.join(dir, 'cfg.yaml'), ['dataset=no_such_dataset', `output_dir=${path.join(dir, 'out2')}`], { out: sink, bus }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const last = seen[seen.length - 1] as TelemetryEvent<'log'>;
    expect([last.type, last.source, last.data.level, last.data.message]).toEqual(['log', 'main', 'error', (err as Error).message]);
    expect((err as Error).message).toMatch(/no_such_dataset/);
  });

  it('keeps every actor within its wall time, and the finished source idle', () => {
    const last = new Map<string, { counters: ActorCounters; finished: boolean }>();
    for (const e of of('actor.counters')) {
      const c = e.data.counters;
      expect(c.busyMs + c.waitingForInputMs + c.blockedOnOutputMs).toBeLessThanOrEqual(c.wallMs + 2);
      last.set(e.data.actor, e.data);
    }
    const shard = of('actor.counters').filter((e) => e.data.actor === 'DatasetShardActor');
    const done = shard.findIndex((e) => e.data.finished);
    expect(done).toBeGreaterThanOrEqual(0);
    for (const e of shard.slice(done)) expect(e.data.counters.busyMs).toBe(shard[done].data.counters.busyMs);

    const stats = pipelineStatsSchema.parse(JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8')));
    expect(stats.version).toBe(2);
    for (const [name, c] of Object.entries(stats.actors)) {
      expect([name, c.busyMs + c.waitingForInputMs + c.blockedOnOutputMs]).toEqual([name, c.wallMs]);
      expect(c).toEqual(last.get(name)!.counters);
    }
    // The reader finished long before the run did (the slow tokenizer alone took 2 × SPIN_MS after it).
    expect(stats.actors.DatasetShardActor.busyMs).toBeLessThan(stats.wall_seconds * 1000 - 2 * SPIN_MS);
    // The spin is computing: the tokenizer's busy time holds it.
    expect(stats.actors.TokenizerActor.busyMs).toBeGreaterThanOrEqual(2 * SPIN_MS);
  });

  it("reports the trainer's wait before its first step as the pipeline made it wait", () => {
    const [start] = of('train.start');
    const t = start.data;
    expect(t.first_step_ms).toBe(t.setup_ms + t.startup_wait_ms);
    // tiny model (test/helpers.ts): vocab 32000, hidden 16, 1 layer, 2 heads of 8 with 1 kv head, mlp 32, tied embeddings
    const [V, H, I, KV] = [32000, 16, 32, 8];
    const perLayer = H * H + 2 * H * KV + H * H + 3 * H * I + 2 * H;
    expect([t.parameters, t.trainable_parameters]).toEqual([V * H + perLayer + H, V * H + perLayer + H]);
    expect(printed).toContain(`train: first step after ${(t.first_step_ms / 1000).toFixed(1)} s`);
    // The trainer's stage started at S; its own work before the first step took setup_ms; it could not
    // have its evaluation batches before the collator had all the data (data.ready). So it waited at
    // least data.ready − S − setup_ms (timestamps in whole ms: 5 ms slack).
    const stageStart = start.ts - t.first_step_ms;
    const [ready] = of('data.ready');
    const lowerBound = ready.ts - stageStart - t.setup_ms;
    expect(lowerBound).toBeGreaterThan(0); // the slow tokenizer made the trainer wait
    expect(t.startup_wait_ms).toBeGreaterThanOrEqual(lowerBound - 5);
    const stats = pipelineStatsSchema.parse(JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8')));
    expect(Math.abs(stats.trainer!.startup_wait_ms - t.startup_wait_ms)).toBeLessThanOrEqual(1);
    expect(Math.abs(stats.trainer!.setup_ms - t.setup_ms)).toBeLessThanOrEqual(1);
  });
});
