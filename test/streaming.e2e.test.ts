/**
 * `streaming: true` end to end through the real CLI: a streamed run that is killed and resumed from its
 * last checkpoint consumes exactly the token stream of an uninterrupted run (checked with the trainer's
 * per-micro-batch checksums, PTFLOW_TRACE_BATCHES), across a data epoch boundary; and the outputs say
 * what a streamed run is (epoch = step / max_steps, num_train_epochs 1, stream cursors in checkpoints).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

interface TraceLine {
  step: number;
  sum: number;
  rows: number;
  meta: { kind?: string; micro?: number; shard?: { epoch: number } };
}

const readTrace = (file: string): TraceLine[] =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);

describe('ptflow train with streaming (end to end)', () => {
  const dir = tmpDir('ptflow-stream-e2e-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 12);
  const base = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 3, streaming: true, buffer_size: 5,
    per_device_train_batch_size: 4, gradient_accumulation_steps: 2, per_device_eval_batch_size: 4, learning_rate: 0.01,
    max_steps: 16, logging_steps: 4, save_steps: 5, eval_strategy: 'steps', eval_steps: 8, seed: 3, tokenizer_workers: 1,
  };
  const outA = path.join(dir, 'a');
  const outB = path.join(dir, 'b');
  const traceA = path.join(dir, 'a.trace');
  const traceB = path.join(dir, 'b.trace');
  const outC = path.join(dir, 'c');
  const traceC = path.join(dir, 'c.trace');
  const results: Record<string, Awaited<ReturnType<typeof runCli>>> = {};

  beforeAll(async () => {
    const cfgA = writeYaml(path.join(dir, 'a.yaml'), { ...base, output_dir: outA });
    const cfgB = writeYaml(path.join(dir, 'b.yaml'), { ...base, output_dir: outB });
    results.a = await runCli(['train', cfgA], { env: { PTFLOW_TRACE_BATCHES: traceA } });
    results.b1 = await runCli(['train', cfgB], { env: { PTFLOW_TRACE_BATCHES: traceB, PTFLOW_FAULTS: 'kill-after-step@12' } });
    results.b2 = await runCli(['train', cfgB], { env: { PTFLOW_TRACE_BATCHES: traceB } });
    // data actors that throw are restarted in their workers and must continue exactly where they were
    const cfgC = writeYaml(path.join(dir, 'c.yaml'), { ...base, output_dir: outC });
    results.c = await runCli(['train', cfgC], {
      env: { PTFLOW_TRACE_BATCHES: traceC, PTFLOW_FAULTS: 'throw:DatasetShardActor@2,throw:CollatorActor@3,throw:TokenizerActor@2' },
    });
  }, 600_000);

  it('runs, is killed, and resumes from checkpoint-10', () => {
    if (results.a.code !== 0) throw new Error(`run a: exit ${results.a.code}\n${results.a.stderr}`);
    expect(results.b1.signal).toBe('SIGKILL');
    if (results.b2.code !== 0) throw new Error(`run b (resumed): exit ${results.b2.code}\n${results.b2.stderr}`);
    expect(results.b2.stderr).toMatch(/checkpoint-10/);
  });

  it('the resumed run consumed exactly the micro-batches of the uninterrupted one, across a data epoch', () => {
    const a = readTrace(traceA);
    expect(a.map((l) => l.step)).toEqual(Array.from({ length: 32 }, (_, i) => Math.floor(i / 2) + 1));
    // 12 documents less 3 for eval give fewer than 32 micro-batches of 4 blocks: the stream went on into epoch 1
    const epochs = new Set(a.map((l) => l.meta.shard!.epoch));
    expect(epochs.has(0) && epochs.has(1)).toBe(true);
    expect(a.every((l) => l.meta.kind === 'stream')).toBe(true);
    // the trace carries the cursor of each step's last micro-batch: micro-batches 2, 4, … of the run
    expect(a.map((l) => l.meta.micro)).toEqual(Array.from({ length: 32 }, (_, i) => 2 * (Math.floor(i / 2) + 1)));
    const b = readTrace(traceB);
    // first process: steps 1..12 (killed after 12); the resumed one starts again at 11 (checkpoint-10)
    const resumedAt = b.findIndex((l, i) => i > 0 && l.step < b[i - 1].step);
    expect(b[resumedAt - 1].step).toBe(12);
    expect(b[resumedAt].step).toBe(11);
    const stitched = [...b.slice(0, resumedAt).filter((l) => l.step <= 10), ...b.slice(resumedAt)];
    expect(stitched.map((l) => [l.step, l.sum, l.rows])).toEqual(a.map((l) => [l.step, l.sum, l.rows]));
  });

  it('restarted data actors (injected throws) still deliver exactly the uninterrupted stream', () => {
    if (results.c.code !== 0) throw new Error(`run c: exit ${results.c.code}\n${results.c.stderr}`);
    expect(readTrace(traceC).map((l) => [l.step, l.sum])).toEqual(readTrace(traceA).map((l) => [l.step, l.sum]));
    const stats = JSON.parse(readFileSync(path.join(outC, 'pipeline_stats.json'), 'utf8'));
    for (const actor of ['DatasetShardActor', 'CollatorActor', 'TokenizerActor']) expect(stats.actors[actor].restarts).toBe(1);
  });

  it('writes a streamed run the way HF does for an iterable dataset: epoch = step / max_steps, num_train_epochs 1', () => {
    for (const out of [outA, outB]) {
      const state = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
      expect(state).toMatchObject({ global_step: 16, max_steps: 16, num_train_epochs: 1 });
      const logs = state.log_history.filter((e: Record<string, number>) => 'loss' in e);
      expect(logs.map((e: Record<string, number>) => [e.step, e.epoch])).toEqual([[4, 0.25], [8, 0.5], [12, 0.75], [16, 1]]);
    }
    const ck = JSON.parse(readFileSync(path.join(outB, 'checkpoint-15', 'ptflow_state.json'), 'utf8'));
    expect(ck.cursor).toMatchObject({ kind: 'stream', micro: 30 });
    expect(ck.cursor.shard.buffer.slots.length).toBeLessThanOrEqual(3 * 5);
    expect(existsSync(path.join(outB, 'model.safetensors'))).toBe(true);
  });

  it('the resumed run continues the same training: same evaluation set and the same losses after the resume', () => {
    const logs = (out: string): Record<string, number>[] => JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8')).log_history;
    const pick = (out: string, key: string): number[][] =>
      logs(out).filter((e) => key in e).map((e) => [e.step, Number(e[key].toFixed(4))]);
    expect(pick(outB, 'eval_loss')).toEqual(pick(outA, 'eval_loss'));
    expect(pick(outB, 'loss')).toEqual(pick(outA, 'loss'));
  });
});
