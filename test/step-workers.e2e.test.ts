/**
 * `workers: 2` on a pipeline step, through the real CLI: two instances of a stateless step defined here
 * (each on its own pool thread, taking batches as they come, each batch delayed by a different amount
 * so later ones can finish first) give the trainer exactly the token stream of one instance; both
 * instances work; a batch that throws on one instance is re-delivered after the restart, nothing lost
 * or counted twice. A stateful step is refused workers: 2, naming the step and the YAML line.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir } from './helpers';

const dir = tmpDir('ptflow-step-workers-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 24);

// Stateless, on the batches edge: passes each batch on after a busy wait of 0–45 ms that depends on the
// batch, and counts which instance ran it. With fail_once (a file path), the third batch an instance
// sees throws, once.
writeFileSync(path.join(dir, 'slow_identity.ts'), `import { closeSync, openSync } from 'node:fs';
import { defineActor, z } from 'ptflow';
export default defineActor({
  name: 'slow_identity', input: 'batches', output: 'batches',
  options: z.object({ fail_once: z.string().nullable().default(null) }),
  init: (o) => ({ failOnce: o.fail_once, seen: 0 }),
  process(batch, s: { failOnce: string | null; seen: number }, ctx) {
    const ids = batch.getChild('input_ids')!.get(0)!.toArray() as Int32Array;
    const until = Date.now() + (ids[1] % 4) * 15;
    while (Date.now() < until);
    if (++s.seen === 3 && s.failOnce !== null && createdNow(s.failOnce)) throw new Error('failing once on purpose');
    ctx.count('worker_' + ctx.worker);
    return batch;
  },
});

/** Creates the file unless it exists, atomically: of two instances reaching it together, one fails. */
function createdNow(file: string): boolean {
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    return false;
  }
}
`);

const BASE = [
  `model_name_or_path: ${model}`, 'train_from_scratch: true', 'do_train: true', 'finetuning_type: full', 'dataset: kjv', `dataset_dir: ${data}`,
  'cutoff_len: 16', 'per_device_train_batch_size: 2', 'max_steps: 10', 'logging_steps: 5', 'save_steps: 100', 'learning_rate: 0.01', 'seed: 5',
  'backend: cpu',
];

function config(name: string, step: string[]): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, [...BASE, 'pipeline:', '  - actor: ./slow_identity.ts', '    before: TrainerActor', ...step].join('\n') + '\n');
  return file;
}

function trace(file: string): unknown[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; sum: number; meta: unknown }).map((e) => [e.step, e.sum, e.meta]);
}

function stats(out: string): { steps: Record<string, Record<string, number>>; actors: Record<string, { restarts: number }> } {
  return JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8'));
}

async function train(cfg: string, name: string) {
  const out = path.join(dir, name);
  const r = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace` } });
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
  return { out, trace: trace(`${out}.trace`) };
}

describe('a step with workers: 2 (end to end)', () => {
  it('gives the token stream of workers: 1, both instances working, also across a restart of one batch', async () => {
    const one = await train(config('one', []), 'one');
    const two = await train(config('two', ['    workers: 2']), 'two');
    expect(two.trace).toEqual(one.trace);
    // (the step runs ahead of the trainer by up to its window, so its final counts vary from run to run)
    expect(stats(one.out).steps.slow_identity.worker_1).toBeUndefined();
    const c2 = stats(two.out).steps.slow_identity;
    expect(c2.worker_0).toBeGreaterThan(0);
    expect(c2.worker_1).toBeGreaterThan(0);
    expect(c2.kept).toBe(c2.seen);

    const marker = path.join(dir, 'failed-once');
    const failing = await train(config('failing', ['    workers: 2', `    options: { fail_once: ${marker} }`]), 'failing');
    expect(existsSync(marker)).toBe(true);
    expect(failing.trace).toEqual(one.trace);
    expect(stats(failing.out).actors.slow_identity.restarts).toBe(1);
  }, 600_000);

  it('a stateful step is refused workers: 2, naming the step and the line', async () => {
    const file = path.join(dir, 'stateful.yaml');
    writeFileSync(file, [...BASE, 'pipeline:', '  - actor: exact_dedup', '    after: DatasetShardActor', '    workers: 2'].join('\n') + '\n');
    const r = await runCli(['train', file, `output_dir=${path.join(dir, 'stateful')}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline step 'exact_dedup' \(.*stateful\.yaml:18\): workers: 2 needs a stateless actor; 'exact_dedup' keeps state across batches \(parallel: false\), which 2 instances each seeing some of the batches cannot split/);
  }, 120_000);
});
