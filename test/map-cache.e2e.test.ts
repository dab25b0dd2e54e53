/**
 * Map mode without tokenized_path trains from the run's own token cache (<output_dir>/.ptflow-cache,
 * built by CacheBlockActor with the `ptflow prepare` builder), through the real CLI:
 *   - the same losses and micro-batches as the in-memory path (PTFLOW_CACHE_READ=memory: reader →
 *     tokenizer → collator with every block in memory), for neat_packing and packing: false, val_size
 *     and eval_dataset, two datasets interleaved or concatenated, over two epochs (packing with plain
 *     blocks: test/restart.e2e.test.ts);
 *   - a build killed half way is not trusted (built again), a run killed mid-epoch resumes on the
 *     reused cache and equals the uninterrupted run; a completed run removes the cache;
 *   - the trainer's wait for the first pass is its startup wait (train.start, pipeline_stats.json).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ROOT, runCli, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { runTrain } from '../src/workflow/train';
import { TelemetryBus } from '../src/telemetry/bus';
import type { TelemetryEvent } from '../schemas/telemetry';
import { pipelineStatsSchema } from '../schemas/pipeline-stats';
import { SPIN_MS } from '../src/faults';

const TIMING = new Set(['train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

function history(out: string): Record<string, number>[] {
  const s = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
  return s.log_history.map((e: Record<string, number>) => Object.fromEntries(Object.entries(e).filter(([k]) => !TIMING.has(k))));
}

/** step → checksum of its micro-batch (one per step here); a step redone after resuming replaces the first try. */
function consumed(file: string): [number, number][] {
  const byStep = new Map<number, number>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const e = JSON.parse(line) as { step: number; sum: number };
    byStep.set(e.step, e.sum);
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]);
}

/** Three datasets (`kjv_a`: 8 chapters, `kjv_b`: 6 other ones, `kjv_c`: 3 more), the first 400 characters of each. */
function threeDatasets(dir: string): string {
  const d = path.join(dir, 'data');
  mkdirSync(d, { recursive: true });
  const lines = readFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 17);
  const jsonl = (ls: string[]) => ls.map((l) => JSON.stringify({ text: (JSON.parse(l) as { text: string }).text.slice(0, 400) })).join('\n') + '\n';
  writeFileSync(path.join(d, 'a.jsonl'), jsonl(lines.slice(0, 8)));
  writeFileSync(path.join(d, 'b.jsonl'), jsonl(lines.slice(8, 14)));
  writeFileSync(path.join(d, 'c.jsonl'), jsonl(lines.slice(14)));
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({
    kjv_a: { file_name: 'a.jsonl' }, kjv_b: { file_name: 'b.jsonl' }, kjv_c: { file_name: 'c.jsonl' },
  }));
  return d;
}

describe('map mode trains from the run\'s own token cache (end to end)', () => {
  const dir = tmpDir('ptflow-map-cache-');
  const model = tinyModelDir(dir);
  const data = threeDatasets(dir);
  const base = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset_dir: data, cutoff_len: 48, per_device_train_batch_size: 4, per_device_eval_batch_size: 4,
    learning_rate: 0.01, max_steps: 7, logging_steps: 1, save_steps: 3, eval_strategy: 'steps', eval_steps: 5, seed: 5,
    backend: 'cpu', tokenizer_workers: 1, output_dir: path.join(dir, 'unused'),
  };
  // Native kernels when built (as users run): they are deterministic, so runs compared here do the same arithmetic, and their training steps take about a sixth of the stock cpu kernels' time on this model (32000-word head).
  const train = async (cfg: string, name: string, env: Record<string, string> = {}) => {
    const out = path.join(dir, name);
    const r = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace`, ...env }, timeoutMs: 600_000 });
    return { ...r, out, trace: `${out}.trace` };
  };
  const ok = (r: { code: number | null; stderr: string }) => {
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
  };

  // Few runs (each is a whole `ptflow train`), each covering several settings.
  const variants: [string, Record<string, unknown>][] = [
    ['neat_packing, two datasets interleaved, val_size', {
      dataset: 'kjv_a,kjv_b', mix_strategy: 'interleave_under', interleave_probs: '0.3,0.7', val_size: 2, neat_packing: true,
    }],
    ['packing: false, two datasets concatenated, eval_dataset', { dataset: 'kjv_a,kjv_b', packing: false, eval_dataset: 'kjv_c' }],
  ];

  it.each(variants)('%s: the losses and micro-batches of the in-memory path, over two epochs', async (name, extra) => {
    const cfg = writeYaml(path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`), { ...base, ...extra });
    const tag = name.replace(/\W+/g, '-');
    const mem = await train(cfg, `${tag}-mem`, { PTFLOW_CACHE_READ: 'memory' });
    ok(mem);
    const cached = await train(cfg, `${tag}-cache`);
    ok(cached);
    const epochs = readFileSync(mem.trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l).meta.epoch as number);
    expect([epochs[0], Math.max(...epochs) >= 1]).toEqual([0, true]); // the run crosses an epoch
    expect(history(cached.out).length).toBeGreaterThan(7);
    expect(history(cached.out)).toEqual(history(mem.out));
    expect(consumed(cached.trace)).toEqual(consumed(mem.trace));
    // which path ran, and the cache is gone once the run completed
    const actors = (out: string) => Object.keys(JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8')).actors).sort();
    expect(actors(cached.out)).toEqual(['CacheBlockActor', 'TrainerActor']);
    expect(actors(mem.out)).toEqual(['CollatorActor', 'DatasetShardActor', 'TokenizerActor', 'TrainerActor']);
    expect(cached.stderr).toContain(`token cache: tokenizing the datasets into ${path.join(cached.out, '.ptflow-cache')}`);
    expect(existsSync(path.join(cached.out, '.ptflow-cache'))).toBe(false);
  }, 1_500_000);

  it('a build killed half way is built again; a run killed mid-epoch resumes on the reused cache and equals the uninterrupted run', async () => {
    const cfg = writeYaml(path.join(dir, 'kill.yaml'), { ...base, ...variants[1][1] });
    const ref = path.join(dir, `${variants[1][0].replace(/\W+/g, '-')}-cache`);
    const cache = path.join(dir, 'killed', '.ptflow-cache');

    const inBuild = await train(cfg, 'killed', { PTFLOW_FAULTS: 'kill-in-cache-build@1' });
    expect(inBuild.signal).toBe('SIGKILL');
    expect(readdirSync(path.join(cache, 'parts'))).toEqual(['part-00000-of-00001.json']); // parts and manifest written,
    expect(existsSync(path.join(cache, 'index.json'))).toBe(false); // the index not

    const midEpoch = await train(cfg, 'killed', { PTFLOW_FAULTS: 'kill-after-step@5' });
    expect(midEpoch.signal).toBe('SIGKILL');
    expect(midEpoch.stderr).toMatch(/token cache: tokenizing the datasets into .* \(what was there was built from other settings or not finished: removed\)/);
    expect(existsSync(path.join(cache, 'index.json'))).toBe(true);

    const resumed = await train(cfg, 'killed');
    ok(resumed);
    expect(resumed.stderr).toMatch(/Resuming training from .*checkpoint-3/);
    expect(resumed.stderr).toMatch(/token cache: reusing /);
    expect(resumed.stderr).not.toMatch(/token cache: tokenizing/);
    expect(history(resumed.out)).toEqual(history(ref));
    expect(consumed(resumed.trace)).toEqual(consumed(`${ref}.trace`));
    expect(existsSync(cache)).toBe(false);
  }, 2_000_000);

  it("reports the first pass as the trainer's wait for data (train.start, pipeline_stats.json, the progress lines)", async () => {
    const out = path.join(dir, 'slow-build');
    const cfg = writeYaml(path.join(dir, 'slow.yaml'), { ...base, dataset: 'kjv_a', val_size: 2, max_steps: 2, output_dir: out });
    const events: TelemetryEvent[] = [];
    let printed = '';
    const bus = new TelemetryBus('map-cache-e2e');
    bus.subscribe((e) => events.push(e));
    const sink = new Writable({ write: (c, _e, done) => ((printed += c.toString()), done()) });
    // the build computes for 3 × SPIN_MS first: longer than the trainer's own setup
    process.env.PTFLOW_FAULTS = 'spin-cache-build@1,spin-cache-build@2,spin-cache-build@3';
    try {
      expect((await runTrain(cfg, [], { out: sink, bus, tty: false })).status).toBe('completed');
    } finally {
      delete process.env.PTFLOW_FAULTS;
    }
    const [start] = events.filter((e): e is TelemetryEvent<'train.start'> => e.type === 'train.start');
    const [ready] = events.filter((e) => e.type === 'data.ready');
    const t = start.data;
    expect(t.first_step_ms).toBe(t.setup_ms + t.startup_wait_ms);
    // The trainer's stage started at S and did setup_ms of its own work; it could not have its
    // evaluation batches before the cache was built (data.ready). So it waited at least
    // data.ready − S − setup_ms (timestamps in whole ms: 5 ms slack).
    const stageStart = start.ts - t.first_step_ms;
    const lowerBound = ready.ts - stageStart - t.setup_ms;
    expect(lowerBound).toBeGreaterThan(0); // the slow build made the trainer wait
    expect(t.startup_wait_ms).toBeGreaterThanOrEqual(lowerBound - 5);
    expect(t.startup_wait_ms).toBeGreaterThanOrEqual(3 * SPIN_MS - t.setup_ms - 5);
    const stats = pipelineStatsSchema.parse(JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8')));
    expect(Math.abs(stats.trainer!.startup_wait_ms - t.startup_wait_ms)).toBeLessThanOrEqual(1);
    expect(stats.actors.CacheBlockActor.busyMs).toBeGreaterThanOrEqual(3 * SPIN_MS);
    expect(printed).toMatch(/token cache tokenizing: \d+ docs, .* — done/);
    expect(printed).toContain(`train: first step after ${(t.first_step_ms / 1000).toFixed(1)} s (setup ${(t.setup_ms / 1000).toFixed(1)} s, waiting for data ${(t.startup_wait_ms / 1000).toFixed(1)} s)`);
  }, 300_000);
});
