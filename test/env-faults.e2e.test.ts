/**
 * Environment faults through the real `ptflow train` CLI: an output_dir that cannot be written, a
 * second run on the same output_dir while the first holds it, and training that diverges (NaN / Inf).
 * Each fails with one clear `ptflow: error:` line and the right exit code, and never leaves a file
 * with non-finite weights behind; `skip_nonfinite_steps: true` skips the bad steps and says so.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsF32 } from '../src/engine/io/safetensors';
import { CLI, ROOT, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml, type CliResult } from './helpers';
import { expectOneClearError, runRows, snapshot, type BadInputRow, type RowOutcome } from './bad-input-helpers';

const root = tmpDir('ptflow-env-faults-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 6);

function config(dir: string, extra: Record<string, unknown> = {}, file = 'cfg.yaml'): string {
  return writeYaml(path.join(dir, file), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 16, output_dir: path.join(dir, 'out'),
    per_device_train_batch_size: 2, learning_rate: 0.01, max_steps: 4, logging_steps: 1, save_steps: 1, seed: 5,
    ...extra,
  });
}

/** Every *.safetensors file under `dir`. */
function safetensorsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...safetensorsFiles(p));
    else if (n.endsWith('.safetensors')) out.push(p);
  }
  return out;
}

/** Names of tensors in `file` holding a NaN or an infinity. */
async function nonFiniteTensors(file: string): Promise<string[]> {
  const { tensors } = await readSafetensorsF32(file);
  return [...tensors].filter(([, t]) => t.data.some((v) => !Number.isFinite(v))).map(([n]) => n);
}

const rows: BadInputRow[] = [
  {
    name: 'output_dir under a regular file',
    setup: (d) => {
      writeFileSync(path.join(d, 'blocker'), 'a file where a directory should be');
      return ['train', config(d, { output_dir: path.join(d, 'blocker', 'out') })];
    },
    code: 1,
    error: /cannot create output_dir .*blocker\/out: ENOTDIR/,
    unchanged: (d) => [path.join(d, 'blocker')],
  },
  {
    name: 'output_dir under /proc',
    setup: (d) => ['train', config(d, { output_dir: '/proc/ptflow-cannot-write-here/out' })],
    code: 1,
    error: /cannot create output_dir \/proc\/ptflow-cannot-write-here\/out: E[A-Z]+/,
  },
  {
    name: 'output_dir that is a regular file',
    setup: (d) => {
      writeFileSync(path.join(d, 'out'), 'not a directory');
      return ['train', config(d)];
    },
    code: 2,
    error: /output_dir .*\/out exists and is not a directory/,
    unchanged: (d) => [path.join(d, 'out')],
  },
  {
    name: 'NaN loss stops the run naming the step',
    setup: (d) => ['train', config(d, { learning_rate: 1e30 })],
    code: 1,
    error: /actor TrainerActor failed: optimizer step 2: the (loss|gradient norm) is not finite \(loss \S+, grad_norm NaN\)/,
  },
  {
    name: 'weights that overflow are refused before a checkpoint is written',
    setup: (d) => ['train', config(d, { learning_rate: 1e38 })],
    code: 1,
    error: /refusing to save .*\/out\/checkpoint-1: tensor \S+ holds a non-finite value \(the weights diverged: lower learning_rate\)/,
  },
];

describe('environment faults through ptflow train', () => {
  let outcomes: Map<string, RowOutcome>;
  const dirOf = (r: BadInputRow): string => path.join(root, r.name.replace(/[^a-z0-9]+/gi, '-'));

  beforeAll(async () => {
    for (const r of rows) mkdirSync(dirOf(r), { recursive: true });
    outcomes = await runRows(rows, dirOf, 3);
  }, 180_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const o = outcomes.get(row.name) as RowOutcome;
    expectOneClearError(o.result, row.code, row.error);
    expect(o.after).toEqual(o.before);
  });

  it('leaves no file with non-finite weights, no final model and no temporary checkpoint after divergence', async () => {
    for (const name of ['NaN loss stops the run naming the step', 'weights that overflow are refused before a checkpoint is written']) {
      const out = path.join(dirOf(rows.find((r) => r.name === name) as BadInputRow), 'out');
      for (const f of safetensorsFiles(out)) expect({ f, bad: await nonFiniteTensors(f) }).toEqual({ f, bad: [] });
      expect(existsSync(path.join(out, 'model.safetensors'))).toBe(false);
      expect(readdirSync(out).filter((n) => n.startsWith('.checkpoint'))).toEqual([]);
      expect(existsSync(path.join(out, '.ptflow.lock'))).toBe(false);
    }
    // The NaN run saved step 1 (finite, huge weights) before step 2 failed; the overflow run saved nothing.
    const nanOut = path.join(dirOf(rows[3]), 'out');
    expect(readdirSync(nanOut).filter((n) => n.startsWith('checkpoint-'))).toEqual(['checkpoint-1']);
    expect(safetensorsFiles(path.join(nanOut, 'checkpoint-1')).length).toBeGreaterThan(0);
    const overflowOut = path.join(dirOf(rows[4]), 'out');
    expect(readdirSync(overflowOut).filter((n) => n.includes('checkpoint'))).toEqual([]);
  });

  it('skip_nonfinite_steps: the bad steps are skipped, reported and counted; the run completes with finite weights', async () => {
    const dir = path.join(root, 'skip');
    mkdirSync(dir);
    const r = await runCli(['train', config(dir, { learning_rate: 1e30, skip_nonfinite_steps: true })]);
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    // Step 1 trains; its huge update makes every later gradient NaN: steps 2-4 are skipped.
    const skipped = [...r.stderr.matchAll(/^warn: step (\d+) skipped: loss \S+, grad_norm NaN \(skip_nonfinite_steps; (\d+) skipped so far\)$/gm)];
    expect(skipped.map((m) => [Number(m[1]), Number(m[2])])).toEqual([[2, 1], [3, 2], [4, 3]]);
    const out = path.join(dir, 'out');
    const state = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
    expect(state.global_step).toBe(4);
    const losses = state.log_history.filter((e: Record<string, number>) => 'loss' in e);
    expect(losses.map((e: Record<string, number>) => e.step)).toEqual([1]); // skipped steps log nothing
    // train_loss is the mean over the steps that trained: here step 1's loss alone.
    const final = state.log_history.find((e: Record<string, number>) => 'train_loss' in e);
    expect(final.train_loss).toBeCloseTo(losses[0].loss, 4);
    const progress = JSON.parse(readFileSync(path.join(out, 'checkpoint-4', 'ptflow_state.json'), 'utf8'));
    expect(progress.skippedSteps).toBe(3);
    for (const f of safetensorsFiles(out)) expect({ f, bad: await nonFiniteTensors(f) }).toEqual({ f, bad: [] });
    // Skipped steps leave the weights as step 1 made them.
    const a = await readSafetensorsF32(path.join(out, 'checkpoint-1', 'model.safetensors'));
    const b = await readSafetensorsF32(path.join(out, 'model.safetensors'));
    for (const [n, t] of a.tensors) expect(Buffer.from(b.tensors.get(n)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
  }, 120_000);

  it('a second run on the same output_dir refuses (exit 2) and leaves the first run and its lock alone', async () => {
    const dir = path.join(root, 'lock');
    mkdirSync(dir);
    const cfg = config(dir, { max_steps: 100000, save_steps: 100000, logging_steps: 1 });
    const out = path.join(dir, 'out');
    const first = spawn(process.execPath, [CLI, 'train', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstErr = '';
    first.stderr.on('data', (b: Buffer) => (firstErr += b.toString()));
    const firstDone = new Promise<CliResult>((resolve) =>
      first.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr: firstErr })),
    );
    try {
      // Wait until the first run holds the lock and is training (a signal before the first step would
      // stop it at once, with nothing to save).
      const t0 = Date.now();
      while (!(existsSync(path.join(out, '.ptflow.lock')) && /\[step 1\]/.test(firstErr))) {
        if (Date.now() - t0 > 60_000 || first.exitCode !== null) throw new Error(`the first run did not start:\n${firstErr}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      const lockBefore = snapshot(path.join(out, '.ptflow.lock'));
      const second = await runCli(['train', cfg]);
      expectOneClearError(second, 2, new RegExp(`output_dir ${out} is in use by another ptflow run \\(pid ${first.pid}\\)`));
      expect(snapshot(path.join(out, '.ptflow.lock'))).toEqual(lockBefore);
      expect(first.exitCode).toBeNull(); // still training
    } finally {
      first.kill('SIGTERM');
    }
    // The first run stops gracefully: a checkpoint at the step it reached, exit 143, lock released.
    const r = await firstDone;
    expect(r.code).toBe(143);
    expect(readdirSync(out).some((n) => /^checkpoint-\d+$/.test(n))).toBe(true);
    expect(existsSync(path.join(out, '.ptflow.lock'))).toBe(false);
  }, 120_000);
});
