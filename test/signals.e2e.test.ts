/**
 * Signals land at every moment, and a crash leaves an output directory the next run handles cleanly,
 * through the real CLI. A fault (src/faults.ts) holds the run at one phase — the main thread before
 * any thread starts, the trainer loading the model, the tokenizer at its first batch, an optimizer step
 * that never returns — and the test signals it there: the run must stop within seconds with 130
 * (SIGINT) / 143 (SIGTERM), leaving no checkpoint and no lock. Then: a kill -9 before the first
 * checkpoint followed by a rerun logs each step once; a kill -9 in the middle of a checkpoint followed
 * by a resume leaves no temporary checkpoint directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-signals-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 8);
const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
  dataset: 'kjv', dataset_dir: data, cutoff_len: 16, per_device_train_batch_size: 2, learning_rate: 0.01,
  max_steps: 4, logging_steps: 1, save_steps: 2, seed: 7,
});

interface Signalled {
  code: number | null;
  stderr: string;
  /** Milliseconds from the first signal to the exit. */
  exitMs: number;
}

/** Runs the CLI with `faults`, sends `signals` (one per marker seen in stderr, in order), waits for the exit. */
function runAndSignal(out: string, faults: string, steps: { when: RegExp; signal: NodeJS.Signals }[], env: Record<string, string> = {}): Promise<Signalled> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', cfg, `output_dir=${out}`], {
      cwd: ROOT, env: { ...process.env, PTFLOW_FAULTS: faults, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let next = 0;
    let firstSignalAt = 0;
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      while (next < steps.length && steps[next].when.test(stderr)) {
        if (firstSignalAt === 0) firstSignalAt = Date.now();
        child.kill(steps[next].signal);
        next++;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, exitMs: firstSignalAt ? Date.now() - firstSignalAt : -1 });
    });
  });
}

const checkpointsIn = (out: string): string[] => (existsSync(out) ? readdirSync(out).filter((n) => /checkpoint-/.test(n)) : []);

describe('signals at every phase', () => {
  it.each([
    ['checking inputs (main thread)', 'hang-startup@1', /\[fault\] hang-startup@1/, 'SIGINT', 130],
    ['loading the model (trainer thread)', 'block-load@1', /\[fault\] block-load@1/, 'SIGTERM', 143],
    // the reader → tokenizer → collator path (PTFLOW_CACHE_READ=memory)
    ['tokenizing the data', 'block:TokenizerActor@1', /\[fault\] block:TokenizerActor@1/, 'SIGINT', 130],
    ['building the run\'s token cache', 'block-cache-build@1', /\[fault\] block-cache-build@1/, 'SIGINT', 130],
  ] as const)('during %s: stops at once with its exit code, nothing saved, no lock left', async (_phase, fault, marker, sig, code) => {
    const out = path.join(dir, `startup-${fault.replace(/[^a-z0-9]+/gi, '-')}`);
    const r = await runAndSignal(out, fault, [{ when: marker, signal: sig }], fault.includes('TokenizerActor') ? { PTFLOW_CACHE_READ: 'memory' } : {});
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(/stopping now \(nothing/) });
    expect(r.stderr).not.toMatch(/saving a checkpoint|ptflow: error|internal error/);
    expect(r.exitMs).toBeLessThan(15_000);
    expect(checkpointsIn(out)).toEqual([]);
    expect(existsSync(path.join(out, '.ptflow.lock'))).toBe(false);
  }, 150_000);

  it('a step that never returns: the first SIGINT asks for a checkpoint, the second stops at once (130)', async () => {
    const out = path.join(dir, 'stuck-step');
    const r = await runAndSignal(out, 'block-step@3', [
      { when: /\[fault\] block-step@3/, signal: 'SIGINT' },
      { when: /finishing the current step and saving a checkpoint/, signal: 'SIGINT' },
    ]);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT again: stopping now/);
    expect(r.exitMs).toBeLessThan(15_000);
    // checkpoint-2 (save_steps 2) was written before the stuck step; nothing after it.
    expect(checkpointsIn(out)).toEqual(['checkpoint-2']);
  }, 150_000);
});

describe('a crash leaves an output directory the next run handles cleanly', () => {
  function loggedSteps(out: string): number[] {
    return readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).current_steps);
  }

  it('kill -9 after step 1 (before any checkpoint), then a rerun: every step logged once', async () => {
    const out = path.join(dir, 'kill-before-checkpoint');
    const first = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_FAULTS: 'kill-after-step@1' } });
    expect(first.signal).toBe('SIGKILL');
    expect(loggedSteps(out)).toEqual([1]);
    const second = await runCli(['train', cfg, `output_dir=${out}`]);
    if (second.code !== 0) throw new Error(second.stderr);
    expect(loggedSteps(out)).toEqual([1, 2, 3, 4]);
  }, 200_000);

  it('kill -9 while writing checkpoint-4, then a resume: no temporary checkpoint directory is left', async () => {
    const out = path.join(dir, 'kill-mid-checkpoint');
    const first = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_FAULTS: 'kill-in-checkpoint@4' } });
    expect(first.signal).toBe('SIGKILL');
    expect(readdirSync(out).filter((n) => n.startsWith('.checkpoint-4.tmp-')).length).toBe(1);
    const second = await runCli(['train', cfg, `output_dir=${out}`]);
    if (second.code !== 0) throw new Error(second.stderr);
    expect(second.stderr).toMatch(/Resuming training from \S+checkpoint-2/);
    expect(readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(checkpointsIn(out).sort()).toEqual(['checkpoint-2', 'checkpoint-4']);
    expect(loggedSteps(out)).toEqual([1, 2, 3, 4]);
  }, 200_000);
});
