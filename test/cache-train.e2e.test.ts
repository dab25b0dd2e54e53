/**
 * Training from a tokenized cache read by offset, through the real CLI: with neat_packing over two
 * epochs it logs the same losses and consumes the same micro-batches as the in-memory path (datasets
 * read and tokenized, every block in the collator's memory: PTFLOW_CACHE_READ=memory); a run killed mid-epoch and resumed equals
 * an uninterrupted one, in map mode and with `streaming: true` over the cache.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

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

describe('training from the token cache by offset (end to end)', () => {
  const dir = tmpDir('ptflow-cache-train-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 10);
  const cache = path.join(dir, 'tokens'); // not 'cache': that name is a run's output_dir below
  const base = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
    dataset_dir: data, cutoff_len: 64, neat_packing: true, val_size: 2, per_device_train_batch_size: 2, per_device_eval_batch_size: 4,
    learning_rate: 0.01, max_steps: 10, logging_steps: 2, save_steps: 3, eval_strategy: 'steps', eval_steps: 5, seed: 5,
    backend: 'cpu', tokenizer_workers: 1, output_dir: path.join(dir, 'unused'),
  };
  const plain = writeYaml(path.join(dir, 'plain.yaml'), base);
  const cached = writeYaml(path.join(dir, 'cached.yaml'), { ...base, tokenized_path: cache });
  const streamed = writeYaml(path.join(dir, 'streamed.yaml'), { ...base, tokenized_path: cache, streaming: true, buffer_size: 8 });
  // Native kernels when built (as users run): they are deterministic, so runs compared here do the same arithmetic, and their training steps take about a sixth of the stock cpu kernels' time on this model (32000-word head).
  const train = async (cfg: string, name: string, env: Record<string, string> = {}) => {
    const out = path.join(dir, name);
    const r = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace`, ...env } });
    return { ...r, out, trace: `${out}.trace` };
  };
  const ok = (r: { code: number | null; stderr: string }) => {
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
  };

  beforeAll(async () => {
    for (const rank of ['0', '1']) ok(await runCli(['prepare', cached, '--rank', rank, '--world-size', '2']));
  }, 300_000);

  it('neat_packing over two epochs: the losses and micro-batches of the in-memory path', async () => {
    const a = await train(plain, 'mem', { PTFLOW_CACHE_READ: 'memory' }); // no run cache: every block in the collator
    ok(a);
    const b = await train(cached, 'from-cache');
    ok(b);
    const trace = readFileSync(a.trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l).meta);
    expect(new Set(trace.map((m: { epoch: number }) => m.epoch))).toEqual(new Set([0, 1])); // the run crosses an epoch
    expect(history(b.out)).toEqual(history(a.out));
    expect(consumed(b.trace)).toEqual(consumed(a.trace));
    expect(readFileSync(path.join(b.out, 'pipeline_stats.json'), 'utf8')).toMatch(/CacheBlockActor/);
  }, 900_000);

  it('map mode: killed mid-epoch, then resumed, equals the uninterrupted run', async () => {
    const first = await train(cached, 'cache-killed', { PTFLOW_FAULTS: 'kill-after-step@5' });
    expect(first.signal).toBe('SIGKILL');
    const second = await train(cached, 'cache-killed');
    ok(second);
    expect(second.stderr).toMatch(/Resuming training from .*checkpoint-3/);
    expect(history(second.out)).toEqual(history(path.join(dir, 'from-cache')));
    expect(consumed(second.trace)).toEqual(consumed(path.join(dir, 'from-cache.trace')));
  }, 900_000);

  it('streaming: true over the cache: killed, then resumed, equals the uninterrupted run', async () => {
    const ref = await train(streamed, 'stream');
    ok(ref);
    const first = await train(streamed, 'stream-killed', { PTFLOW_FAULTS: 'kill-after-step@4' });
    expect(first.signal).toBe('SIGKILL');
    const second = await train(streamed, 'stream-killed');
    ok(second);
    expect(history(second.out)).toEqual(history(ref.out));
    expect(consumed(second.trace)).toEqual(consumed(ref.trace));
    // the buffer changes the order: not the map-mode micro-batches
    expect(consumed(ref.trace)).not.toEqual(consumed(path.join(dir, 'from-cache.trace')));
  }, 900_000);
});
