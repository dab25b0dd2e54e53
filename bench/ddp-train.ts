/**
 * Data-parallel training throughput: `ptflow train` as 2 ranks × 1 thread (mpiexec -n 2,
 * per_device_train_batch_size 4) against 1 process × 2 threads (batch 8) in the same run: the same
 * global batch, the same steps, the same blocks. Prints tokens/s of each, their ratio (target ≥ 0.9),
 * and from rank 0's log the gradient allreduce per step and the share of it hidden (the time from the
 * first bucket's allreduce start to the last one's end during which the rank was still computing the
 * backward pass or handing buckets over, rather than waiting), and the share of the gradient bytes
 * whose allreduce started during the backward pass (the default hands each gradient over as soon as
 * the pass has finished it). A third run, the same 2 ranks with PTFLOW_GRAD_HANDOVER=0, hands them
 * all over after the pass instead (no overlap with it). A fourth run, 1 process × 1 thread with
 * batch 4 (one rank's share, alone on the machine), gives the ceiling of the ratio: two ranks cannot
 * train faster than twice that, however fast the exchange.
 *
 *   node dist/bench/ddp-train.js [--steps 60] [--dir /tmp/ptflow-bench-ddp]
 *
 * 60 steps by default: tokens/s comes from train_runtime, which includes the first step (kernel
 * set-up, and for the ranks the MPI start and the parameter broadcast); over 20 steps that start
 * moved the ratio by 0.15 on the idle machine (0.766 at 20 steps, 0.940 at 60, back to back).
 *
 * Model: the reference shape (bench/util/reference-model.ts: hidden 256, 4 layers, seq 128) with the
 * demo tokenizer's vocabulary (32000 instead of 8192: the demo tokenizer is the one at hand), so the
 * untied head makes up more of the step than in the reference. Tokens/s = steps × 8 × 128 /
 * train_runtime (train_results.json; the warm-up steps are included in both runs alike).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REFERENCE_HF, REFERENCE_SHAPE } from './util/reference-model';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

function setup(dir: string): { model: string; data: string } {
  const model = path.join(dir, 'model');
  const data = path.join(dir, 'data');
  mkdirSync(model, { recursive: true });
  mkdirSync(data, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(model, f));
  writeFileSync(path.join(model, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], ...REFERENCE_HF, vocab_size: 32000, hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
  }));
  copyFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), path.join(data, 'kjv.jsonl'));
  writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } } }));
  return { model, data };
}

function config(dir: string, m: { model: string; data: string }, batch: number, threads: number, steps: number): string {
  const cfg: Record<string, unknown> = {
    model_name_or_path: m.model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
    dataset_dir: m.data, cutoff_len: REFERENCE_SHAPE.seqLen, per_device_train_batch_size: batch, gradient_accumulation_steps: 1,
    learning_rate: 0.0005, max_steps: steps, logging_steps: steps, save_strategy: 'no', seed: 42, num_threads: threads,
    overwrite_output_dir: true, plot_loss: false, tokenizer_workers: 1,
  };
  const file = path.join(dir, `b${batch}-t${threads}.yaml`);
  writeFileSync(file, Object.entries(cfg).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
  return file;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stderr;
}

/** Tokens/s of a finished run whose steps were `batch` × seq tokens each. */
function tokensPerSecond(out: string, steps: number, batch: number = REFERENCE_SHAPE.batchSize): number {
  const res = JSON.parse(readFileSync(path.join(out, 'train_results.json'), 'utf8')) as { train_runtime: number };
  return (steps * batch * REFERENCE_SHAPE.seqLen) / res.train_runtime;
}

function main(): void {
  const steps = Number(arg('steps', '60'));
  const dir = arg('dir', '/tmp/ptflow-bench-ddp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const m = setup(dir);
  const mpiexec = ['mpiexec.mpich', 'mpiexec'].find((c) => spawnSync(c, ['--version']).status === 0);
  if (mpiexec === undefined) {
    process.stderr.write('bench/ddp-train: MPICH mpiexec not found (apt-get install mpich libmpich-dev, then node native/build.js)\n');
    process.exit(2);
  }
  const oneOut = path.join(dir, 'one');
  const twoOut = path.join(dir, 'two');
  const lateOut = path.join(dir, 'two-late');
  const aloneOut = path.join(dir, 'alone');
  run(process.execPath, [CLI, 'train', config(dir, m, 8, 2, steps), `output_dir=${oneOut}`]);
  const log = run(mpiexec, ['-n', '2', process.execPath, CLI, 'train', config(dir, m, 4, 1, steps), `output_dir=${twoOut}`]);
  // The same 2 ranks handing every gradient over after the backward pass (no overlap with it).
  const lateLog = run(mpiexec, ['-n', '2', process.execPath, CLI, 'train', config(dir, m, 4, 1, steps), `output_dir=${lateOut}`], { PTFLOW_GRAD_HANDOVER: '0' });
  // One rank's share alone: batch 4 on 1 thread, the other core idle.
  run(process.execPath, [CLI, 'train', config(dir, m, 4, 1, steps), `output_dir=${aloneOut}`]);
  const one = tokensPerSecond(oneOut, steps);
  const alone = tokensPerSecond(aloneOut, steps, 4);
  const two = tokensPerSecond(twoOut, steps);
  const late = tokensPerSecond(lateOut, steps);
  const reduce = (l: string): string => /gradient allreduce: .*/.exec(l)?.[0] ?? 'gradient allreduce: (no line from the trainer)';
  process.stdout.write([
    `ddp-train: ${steps} steps of 8 × ${REFERENCE_SHAPE.seqLen} tokens, reference shape with vocab 32000`,
    `  1 process × 2 threads, batch 8   ${one.toFixed(0)} tokens/s`,
    `  2 ranks × 1 thread, batch 4      ${two.toFixed(0)} tokens/s`,
    `  ratio (2 ranks / 1 process)      ${(two / one).toFixed(3)}   (target ≥ 0.9)`,
    `  1 process × 1 thread, batch 4    ${alone.toFixed(0)} tokens/s: ceiling of the ratio 2 × that / 1 process = ${((2 * alone) / one).toFixed(3)}`,
    `  rank 0: ${reduce(log)}`,
    `  2 ranks, gradients handed over after backward (PTFLOW_GRAD_HANDOVER=0)   ${late.toFixed(0)} tokens/s, ratio ${(late / one).toFixed(3)}`,
    `  rank 0: ${reduce(lateLog)}`,
  ].join('\n') + '\n');
}

main();
