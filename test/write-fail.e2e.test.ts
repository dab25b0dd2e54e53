/**
 * An output directory that stops accepting writes in the middle of a run, through the real CLI. The
 * run is held after an optimizer step (fault `hold-after-step@N`: only the timing is injected), the test
 * puts a real obstacle where the next write goes — the output directory replaced by a file (ENOTDIR,
 * which stops root as well as anyone), `trainer_log.jsonl` or `model.safetensors` replaced by a
 * directory (EISDIR) — and releases it. The run must fail with one error line naming the write that
 * failed (the path the user knows and the errno), no stack trace, the lock file's cleanup not taking
 * its place; and what it wrote before must be intact: the same bytes, and a rerun resumes from it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, runCli, tinyDataset, tinyModelDir, tmpDir, type CliResult } from './helpers';
import { errorLines, expectOneClearError, smallRunConfig, snapshot } from './bad-input-helpers';

const root = tmpDir('ptflow-write-fail-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 6);
const config = smallRunConfig(model, data);

/**
 * Runs `ptflow train cfg` with the trainer held after step `step`; when it is held, `atHold()` runs
 * (it changes the output directory), then the run is released and awaited.
 */
function runHeld(dir: string, cfg: string, step: number, atHold: () => void): Promise<CliResult> {
  const release = path.join(dir, 'release');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', cfg], {
      cwd: ROOT,
      env: { ...process.env, PTFLOW_FAULTS: `hold-after-step@${step}`, PTFLOW_FAULT_RELEASE: release },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let held = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!held && stderr.includes(`[fault] hold-after-step@${step}`)) {
        held = true;
        try {
          atHold();
        } finally {
          writeFileSync(release, '');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (!held) stderr += '\n(the run was never held)';
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const logSteps = (file: string): number[] =>
  readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { current_steps: number }).current_steps);

interface Case {
  dir: string;
  out: string;
  cfg: string;
  /** Snapshots taken when the run was held, before the obstacle. */
  kept: Map<string, Map<string, string>>;
  failed?: CliResult;
}

function newCase(name: string, extra: Record<string, unknown>): Case {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  return { dir, out: path.join(dir, 'out'), cfg: config(dir, extra), kept: new Map() };
}

// 1. checkpoint-2 cannot be written: output_dir became a file after step 1 (no log line in between).
const ckpt = newCase('checkpoint', { max_steps: 3, logging_steps: 100, save_steps: 1 });
// 2. the step-2 line cannot be appended: trainer_log.jsonl became a directory after step 1.
const log = newCase('trainer-log', { max_steps: 3, logging_steps: 1, save_steps: 1 });
// 3. the final model cannot be written: model.safetensors became a directory after the last step.
const final = newCase('final-model', { max_steps: 2, logging_steps: 1, save_steps: 1 });

beforeAll(async () => {
  const [a, b, c] = await Promise.all([
    runHeld(ckpt.dir, ckpt.cfg, 1, () => {
      ckpt.kept.set('checkpoint-1', snapshot(path.join(ckpt.out, 'checkpoint-1')));
      renameSync(ckpt.out, `${ckpt.out}.kept`);
      writeFileSync(ckpt.out, 'not a directory\n');
    }),
    runHeld(log.dir, log.cfg, 1, () => {
      log.kept.set('checkpoint-1', snapshot(path.join(log.out, 'checkpoint-1')));
      renameSync(path.join(log.out, 'trainer_log.jsonl'), path.join(log.dir, 'trainer_log.kept'));
      mkdirSync(path.join(log.out, 'trainer_log.jsonl', 'in-the-way'), { recursive: true });
    }),
    runHeld(final.dir, final.cfg, 2, () => {
      for (const n of ['checkpoint-1', 'checkpoint-2']) final.kept.set(n, snapshot(path.join(final.out, n)));
      mkdirSync(path.join(final.out, 'model.safetensors', 'in-the-way'), { recursive: true });
    }),
  ]);
  ckpt.failed = a;
  log.failed = b;
  final.failed = c;
}, 300_000);

describe('an output directory that stops accepting writes mid-run', () => {
  it('checkpoint save: names the checkpoint and the errno; the lock cleanup does not replace the error; checkpoint-1 resumes', async () => {
    const r = ckpt.failed!;
    expectOneClearError(r, 1, /could not write checkpoint \S+\/checkpoint\/out\/checkpoint-2: ENOTDIR: not a directory \(mkdir\)/);
    // The error is the last thing said, after the lock's warning, and names no temporary directory.
    expect(r.stderr.trimEnd().split('\n').pop()).toBe(errorLines(r.stderr)[0]);
    expect(r.stderr).not.toMatch(/\.tmp-/);
    // Nothing lost: checkpoint-1 is byte-identical and a rerun on it resumes and finishes.
    const kept = `${ckpt.out}.kept`;
    expect(readdirSync(kept).filter((n) => n.startsWith('checkpoint-'))).toEqual(['checkpoint-1']);
    expect(snapshot(path.join(kept, 'checkpoint-1'))).toEqual(ckpt.kept.get('checkpoint-1'));
    rmSync(ckpt.out);
    renameSync(kept, ckpt.out);
    const again = await runCli(['train', ckpt.cfg], { timeoutMs: 120_000 });
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/error/) });
    expect(again.stderr).toMatch(/resumed from \S+\/checkpoint-1 at step 1/);
    expect(existsSync(path.join(ckpt.out, 'checkpoint-3', 'model.safetensors'))).toBe(true);
  }, 150_000);

  it('trainer_log.jsonl append: names the log file and the errno; step 1 is kept and logged once after the rerun', async () => {
    const r = log.failed!;
    expectOneClearError(r, 1, /cannot append to \S+\/trainer-log\/out\/trainer_log\.jsonl: EISDIR: illegal operation on a directory \(open\)/);
    expect(logSteps(path.join(log.dir, 'trainer_log.kept'))).toEqual([1]);
    // The step whose log line failed was not checkpointed; checkpoint-1 is byte-identical.
    expect(readdirSync(log.out).filter((n) => n.startsWith('checkpoint-'))).toEqual(['checkpoint-1']);
    expect(snapshot(path.join(log.out, 'checkpoint-1'))).toEqual(log.kept.get('checkpoint-1'));
    rmSync(path.join(log.out, 'trainer_log.jsonl'), { recursive: true });
    renameSync(path.join(log.dir, 'trainer_log.kept'), path.join(log.out, 'trainer_log.jsonl'));
    const again = await runCli(['train', log.cfg], { timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    expect(logSteps(path.join(log.out, 'trainer_log.jsonl'))).toEqual([1, 2, 3]);
  }, 150_000);

  it('final model save: names model.safetensors and the errno; the checkpoints are intact and a rerun saves checkpoint-2\'s weights', async () => {
    const r = final.failed!;
    expectOneClearError(r, 1, /cannot write \S+\/final-model\/out\/model\.safetensors: EISDIR: illegal operation on a directory \(rename\)/);
    expect(r.stderr).not.toMatch(/\.tmp-/);
    for (const n of ['checkpoint-1', 'checkpoint-2']) expect(snapshot(path.join(final.out, n))).toEqual(final.kept.get(n));
    expect(logSteps(path.join(final.out, 'trainer_log.jsonl'))).toEqual([1, 2]);
    rmSync(path.join(final.out, 'model.safetensors'), { recursive: true });
    const again = await runCli(['train', final.cfg], { timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    // The run had finished its steps: the final weights are checkpoint-2's.
    expect(readFileSync(path.join(final.out, 'model.safetensors'))).toEqual(readFileSync(path.join(final.out, 'checkpoint-2', 'model.safetensors')));
  }, 150_000);
});
