/**
 * `ptflow prepare` and train-time reuse through the real CLI: a corpus prepared by 3 Slurm array
 * tasks, then `ptflow train` from that cache logs the same losses as `ptflow train` that reads and
 * tokenizes the datasets itself; a stale cache is refused with what changed.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

/** Per-step loss and gradient norm, and eval losses, from trainer_state.json (full precision). */
function losses(outDir: string): number[] {
  const state = JSON.parse(readFileSync(path.join(outDir, 'trainer_state.json'), 'utf8')) as { log_history: Record<string, number>[] };
  return state.log_history.flatMap((e) => [e.loss, e.grad_norm, e.eval_loss].filter((v): v is number => v !== undefined));
}

describe('ptflow prepare → ptflow train (end to end)', () => {
  const dir = tmpDir('ptflow-prepare-e2e-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 24);
  const cache = path.join(dir, 'cache');
  const base = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
    dataset_dir: data, cutoff_len: 32, val_size: 3, per_device_train_batch_size: 4, per_device_eval_batch_size: 4,
    learning_rate: 0.01, max_steps: 4, logging_steps: 1, save_steps: 100, eval_strategy: 'steps', eval_steps: 2, seed: 7,
    backend: 'cpu', tokenizer_workers: 1,
  };
  const plain = writeYaml(path.join(dir, 'plain.yaml'), { ...base, output_dir: path.join(dir, 'out-plain') });
  const cached = writeYaml(path.join(dir, 'cached.yaml'), { ...base, output_dir: path.join(dir, 'out-cached'), tokenized_path: cache });
  // Native kernels when built (as users run): they are deterministic, so runs compared here do the same arithmetic, and their training steps take about a sixth of the stock cpu kernels' time on this model (32000-word head).
  const train = (args: string[]) => runCli(['train', ...args]);

  it('prepares in 3 Slurm array tasks; the last one writes index.json', async () => {
    const outs: string[] = [];
    for (const id of ['1', '0', '2']) {
      const r = await runCli(['prepare', cached], { env: { SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_TASK_COUNT: '3' } });
      if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
      outs.push(r.stderr);
    }
    expect(outs[0]).toMatch(/rank 1 of 3 \(from Slurm array job/);
    expect(outs[0]).toMatch(/waiting for ranks 0, 2/);
    expect(outs[2]).toMatch(/complete: train 21 documents .* in 3 parts, validation 3 documents/);
    const index = JSON.parse(readFileSync(path.join(cache, 'index.json'), 'utf8'));
    expect(index.world_size).toBe(3);
    expect(index.splits.train.parts.map((p: { first: number }) => p.first)).toEqual([0, 7, 14]);
  }, 120_000);

  it('trains from the cache with the same losses as reading and tokenizing', async () => {
    const [a, b] = [await train([plain]), await train([cached])];
    if (a.code !== 0) throw new Error(`plain: exit ${a.code}\n${a.stderr}`);
    if (b.code !== 0) throw new Error(`cached: exit ${b.code}\n${b.stderr}`);
    const la = losses(path.join(dir, 'out-plain'));
    expect(la.length).toBe(10); // 4 × (loss, grad_norm) + 2 evaluations
    expect(losses(path.join(dir, 'out-cached'))).toEqual(la);
    expect(b.stderr).not.toMatch(/tokenizing the datasets/);
    const stats = readFileSync(path.join(dir, 'out-cached', 'pipeline_stats.json'), 'utf8');
    expect(stats).toMatch(/CacheBlockActor/);
    expect(stats).not.toMatch(/TokenizerActor/);
  }, 300_000);

  it('packing: false from the cache (bos + document + eos, truncated at train time) matches too', async () => {
    const extra = ['packing=false', 'max_steps=2', 'eval_steps=2'];
    const a = await train([plain, ...extra, `output_dir=${path.join(dir, 'out-plain-np')}`]);
    const b = await train([cached, ...extra, `output_dir=${path.join(dir, 'out-cached-np')}`]);
    if (a.code !== 0) throw new Error(`plain: exit ${a.code}\n${a.stderr}`);
    if (b.code !== 0) throw new Error(`cached: exit ${b.code}\n${b.stderr}`);
    const la = losses(path.join(dir, 'out-plain-np'));
    expect(la.length).toBe(5); // 2 × (loss, grad_norm) + 1 evaluation
    expect(losses(path.join(dir, 'out-cached-np'))).toEqual(la);
  }, 300_000);

  it('refuses a stale cache with what changed and how to rebuild', async () => {
    const r = await runCli(['train', cached, 'val_size=2', `output_dir=${path.join(dir, 'out-stale')}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tokenized cache .*cache is stale: val_size 3 → 2\. Rebuild it with `ptflow prepare .*cached\.yaml` \(or set overwrite_cache: true\)/);
    expect(existsSync(path.join(dir, 'out-stale', 'trainer_log.jsonl'))).toBe(false);
  }, 120_000);
});
