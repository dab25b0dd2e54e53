/**
 * Supervision end to end: a data actor that throws (injected through PTFLOW_FAULTS) is restarted from
 * its last acknowledged message, and the trainer consumes exactly the micro-batches of an undisturbed
 * run (same checksums, same order). The default map mode's data actor (CacheBlockActor, over the run's
 * own token cache) gives the same micro-batches, restarted or not. Failing past the restart limit stops the run with the actor's error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

/** The reader → tokenizer → collator path (every block in the collator's memory): the actors under test here. */
const IN_MEMORY = { PTFLOW_CACHE_READ: 'memory' };

function sums(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).sum);
}

describe('actor restarts (end to end)', () => {
  const dir = tmpDir('ptflow-restart-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 12);
  const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 16, val_size: 2, per_device_train_batch_size: 4,
    learning_rate: 0.01, max_steps: 6, logging_steps: 3, save_strategy: 'no', seed: 5,
  });
  let reference: number[];

  beforeAll(async () => {
    const trace = path.join(dir, 'ref.trace');
    const r = await runCli(['train', cfg, `output_dir=${path.join(dir, 'ref')}`], { env: { ...IN_MEMORY, PTFLOW_TRACE_BATCHES: trace } });
    if (r.code !== 0) throw new Error(r.stderr);
    reference = sums(trace);
    expect(reference).toHaveLength(6);
  }, 300_000);

  it.each(['DatasetShardActor', 'TokenizerActor', 'CollatorActor'])(
    '%s throws once: restarted, every micro-batch delivered exactly once',
    async (actor) => {
      const out = path.join(dir, actor);
      const trace = path.join(dir, `${actor}.trace`);
      const r = await runCli(['train', cfg, `output_dir=${out}`], { env: { ...IN_MEMORY, PTFLOW_FAULTS: `throw:${actor}@2`, PTFLOW_TRACE_BATCHES: trace } });
      if (r.code !== 0) throw new Error(r.stderr);
      expect(sums(trace)).toEqual(reference);
      const stats = JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8'));
      expect(stats.actors[actor].restarts).toBe(1);
    },
    300_000,
  );

  it('the run\'s own token cache (the default map mode): CacheBlockActor throws at its 2nd micro-batch, restarts on the built cache, same micro-batches as in memory', async () => {
    const out = path.join(dir, 'run-cache');
    const trace = path.join(dir, 'run-cache.trace');
    const r = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_FAULTS: 'throw:CacheBlockActor@2', PTFLOW_TRACE_BATCHES: trace } });
    if (r.code !== 0) throw new Error(r.stderr);
    expect(sums(trace)).toEqual(reference);
    const stats = JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8'));
    expect(stats.actors.CacheBlockActor.restarts).toBe(1);
    expect(r.stderr.match(/token cache: tokenizing the datasets/g)).toHaveLength(1); // built once,
    expect(r.stderr).toMatch(/token cache: reusing/); // then reused by the restarted actor
  }, 300_000);

  it.each([
    ['a tokenizer pool of 2 threads', ''],
    ['a tokenizer pool whose task throws once', 'throw:TokenizerActor@2'],
  ])('%s delivers the same micro-batches as one thread', async (_name, fault) => {
    const out = path.join(dir, `pool-${fault ? 'fault' : 'plain'}`);
    const trace = `${out}.trace`;
    const env: Record<string, string> = { ...IN_MEMORY, PTFLOW_TRACE_BATCHES: trace };
    if (fault) env.PTFLOW_FAULTS = fault;
    const r = await runCli(['train', cfg, `output_dir=${out}`, 'tokenizer_workers=2'], { env });
    if (r.code !== 0) throw new Error(r.stderr);
    expect(sums(trace)).toEqual(reference);
  }, 300_000);

  it('fails past the restart limit with the actor error and exit code 1', async () => {
    const r = await runCli(['train', cfg, `output_dir=${path.join(dir, 'repeat')}`], { env: { ...IN_MEMORY, PTFLOW_FAULTS: 'throw-repeat:TokenizerActor@1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/actor TokenizerActor failed: injected fault at input message 1/);
  }, 300_000);
});
