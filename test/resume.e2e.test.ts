/**
 * Crash safety end to end: a run killed with SIGKILL (after a step, or in the middle of writing a
 * checkpoint) or stopped with SIGTERM, then resumed with the same command, produces the same
 * log_history as an uninterrupted run — bit for bit, timing aside — consumes the same micro-batches in
 * the same order, and leaves no duplicated steps in trainer_log.jsonl.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, ROOT, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const TIMING = new Set(['train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

function history(out: string): Record<string, number>[] {
  const s = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
  return s.log_history.map((e: Record<string, number>) => Object.fromEntries(Object.entries(e).filter(([k]) => !TIMING.has(k))));
}
function trace(file: string): { step: number; sum: number }[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((e) => ({ step: e.step, sum: e.sum }));
}
function loggedSteps(out: string): number[] {
  return readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).current_steps);
}

describe('kill and resume (end to end)', () => {
  const dir = tmpDir('ptflow-resume-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 16);
  const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 16, val_size: 2, per_device_train_batch_size: 3,
    gradient_accumulation_steps: 2, learning_rate: 0.01, max_steps: 10, logging_steps: 3, save_steps: 2,
    eval_strategy: 'steps', eval_steps: 5, lr_scheduler_type: 'cosine', warmup_steps: 2, seed: 11, save_total_limit: 3,
  });
  const reference = path.join(dir, 'ref');
  let refHistory: Record<string, number>[];
  let refTrace: { step: number; sum: number }[];

  beforeAll(async () => {
    const r = await runCli(['train', cfg, `output_dir=${reference}`], { env: { PTFLOW_TRACE_BATCHES: path.join(dir, 'ref.trace') } });
    if (r.code !== 0) throw new Error(r.stderr);
    refHistory = history(reference);
    refTrace = trace(path.join(dir, 'ref.trace'));
    // logs at 3, 6, 9; evals at 5, 10; the final entry at 10
    expect(refHistory.map((e) => e.step)).toEqual([3, 5, 6, 9, 10, 10]);
  }, 300_000);

  async function killedThenResumed(name: string, fault: string): Promise<string> {
    const out = path.join(dir, name);
    const tr = path.join(dir, `${name}.trace`);
    const first = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_FAULTS: fault, PTFLOW_TRACE_BATCHES: tr } });
    expect(first.signal).toBe('SIGKILL');
    const second = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: tr } });
    if (second.code !== 0) throw new Error(second.stderr);
    expect(second.stderr).toMatch(/Resuming training from .*checkpoint-\d+/);
    return out;
  }

  it.each([
    ['after-step-3', 'kill-after-step@3'],
    ['after-step-7', 'kill-after-step@7'],
    ['mid-checkpoint-6', 'kill-in-checkpoint@6'],
  ])('SIGKILL %s, then resume: identical log_history and consumed batches', async (name, fault) => {
    const out = await killedThenResumed(name, fault);
    expect(history(out)).toEqual(refHistory);
    // The trace has the steps of both runs; the resumed run redoes steps after the checkpoint. The
    // last occurrence of each step is what the final model saw: it must equal the reference.
    const seen = new Map<number, number[]>();
    for (const t of trace(path.join(dir, `${name}.trace`))) {
      if (!seen.has(t.step) || seen.get(t.step)!.length === 2) seen.set(t.step, []);
      seen.get(t.step)!.push(t.sum);
    }
    const refByStep = new Map<number, number[]>();
    for (const t of refTrace) refByStep.set(t.step, [...(refByStep.get(t.step) ?? []), t.sum]);
    expect([...seen.entries()].sort((a, b) => a[0] - b[0])).toEqual([...refByStep.entries()].sort((a, b) => a[0] - b[0]));
    // trainer_log.jsonl has exactly the lines of the uninterrupted run: no step logged twice, none lost.
    expect(loggedSteps(out)).toEqual(loggedSteps(reference));
    // no half-written checkpoint left behind that resume could trust
    for (const d of readdirSync(out).filter((n) => n.startsWith('checkpoint-'))) {
      expect(existsSync(path.join(out, d, 'trainer_state.json'))).toBe(true);
    }
  }, 300_000);

  it('SIGTERM finishes the step, checkpoints, exits 143, and the resumed run matches', async () => {
    const out = path.join(dir, 'sigterm');
    const child = spawn(process.execPath, [CLI, 'train', cfg, `output_dir=${out}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (/\[step 3\]/.test(stderr) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(143);
    expect(stderr).toMatch(/Stopped at step \d+; checkpoint saved/);
    const r = await runCli(['train', cfg, `output_dir=${out}`]);
    if (r.code !== 0) throw new Error(r.stderr);
    expect(history(out)).toEqual(refHistory);
  }, 300_000);
});
