/**
 * Resume overhead: time from process start to the first optimizer step, for a fresh run and for a run
 * resumed from a checkpoint at a late step, measured in the same session. Resume seeks the data cursor
 * (epoch, micro-batch) and loads the checkpoint, so the ratio should stay near 1 (target ≤ 1.2).
 *
 *   node dist/bench/resume-overhead.js [--late 300] [--repeats 3]
 *
 * The first step is observed from outside, through PTFLOW_TRACE_BATCHES (one line per consumed
 * micro-batch), so the time includes everything a user waits for: startup, config, tokenizing, model
 * and checkpoint loading.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './util/stats';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function setup(dir: string): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(m, f));
  writeFileSync(path.join(m, 'config.json'), JSON.stringify({
    vocab_size: 32000, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
    num_key_value_heads: 1, hidden_act: 'silu', max_position_embeddings: 64, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
  }));
  const cfg = path.join(dir, 'cfg.yaml');
  writeFileSync(cfg, [
    `model_name_or_path: ${m}`, 'train_from_scratch: true', 'stage: pt', 'do_train: true', 'finetuning_type: full',
    'dataset: kjv_demo', `dataset_dir: ${path.join(ROOT, 'examples/data')}`, 'max_samples: 40', 'cutoff_len: 16',
    'per_device_train_batch_size: 2', 'learning_rate: 0.001', 'logging_steps: 50', 'seed: 1', 'save_total_limit: 1',
  ].join('\n') + '\n');
  return cfg;
}

/** Runs the CLI; resolves with ms from spawn to the first traced micro-batch (then kills the run). */
function timeToFirstStep(args: string[], trace: string): Promise<number> {
  rmSync(trace, { force: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, PTFLOW_TRACE_BATCHES: trace }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setInterval(() => {
      if (existsSync(trace) && readFileSync(trace, 'utf8').length > 0) {
        const ms = performance.now() - t0;
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve(ms);
      }
    }, 5);
    child.on('exit', (code) => {
      if (code !== null && code !== 0) {
        clearInterval(timer);
        reject(new Error(stderr));
      }
    });
  });
}

function runToEnd(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(stderr))));
  });
}

async function main(): Promise<void> {
  const late = arg('late', 300);
  const repeats = arg('repeats', 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-resume-bench-'));
  const cfg = setup(dir);
  const lateDir = path.join(dir, 'late');
  process.stdout.write(`training ${late} steps to make a late checkpoint…\n`);
  await runToEnd(['train', cfg, `output_dir=${lateDir}`, `max_steps=${late}`, `save_steps=${late}`]);
  const fresh: number[] = [];
  const resumed: number[] = [];
  for (let i = 0; i < repeats; i++) {
    fresh.push(await timeToFirstStep(['train', cfg, `output_dir=${path.join(dir, `fresh-${i}`)}`, `max_steps=${late + 10}`], path.join(dir, 'f.trace')));
    resumed.push(await timeToFirstStep(
      ['train', cfg, `output_dir=${lateDir}`, `max_steps=${late + 10}`, `resume_from_checkpoint=${path.join(lateDir, `checkpoint-${late}`)}`],
      path.join(dir, 'r.trace'),
    ));
  }
  const f = median(fresh);
  const r = median(resumed);
  process.stdout.write(`time to first optimizer step (median of ${repeats}):\n`);
  process.stdout.write(`  fresh                     ${f.toFixed(0)} ms\n`);
  process.stdout.write(`  resumed at step ${late}      ${r.toFixed(0)} ms\n`);
  process.stdout.write(`  ratio resumed / fresh     ${(r / f).toFixed(3)}   (target ≤ 1.2)\n`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
