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
 *   node dist/bench/ddp-train.js [--steps 150] [--pairs 3] [--vocab 8192|32000] [--bucket-mb 25,4] [--dir /tmp/ptflow-bench-ddp]
 *
 * `--bucket-mb 25,4`: the ranks' `ddp_bucket_cap_mb`, one 2-rank run per size in every pair (default:
 * one run with the config's default).
 *
 * The 1-process and 2-rank runs alternate, `--pairs` times (one, two, one, two, …): this machine's
 * speed drifts by a fifth over minutes, and one run of each, minutes apart, gave ratios from 0.88 to
 * 0.98 with the same build. Each pair's ratio is printed, and their median is the result.
 *
 * 150 steps by default: tokens/s comes from train_runtime, which includes the first step (kernel
 * set-up, and for the ranks the MPI start and the parameter broadcast); over 20 steps that start
 * moved the ratio by 0.15 on the idle machine (0.766 at 20 steps, 0.940 at 60, back to back), and
 * a run of 60 steps of the reference config lasts about 12 s, short enough for the machine's drift
 * to move single pairs from 0.80 to 0.95.
 *
 * Model: the reference config (bench/util/reference-model.ts: vocab 8192, hidden 256, 4 layers,
 * seq 128, untied head), trained on the demo corpus with the demo tokenizer cut to 8192 tokens
 * (util/truncated-tokenizer.ts). `--vocab 32000` keeps the whole demo tokenizer instead: a head four
 * times larger, a larger share of the step and of the gradient. Tokens/s = steps × 8 × 128 /
 * train_runtime (train_results.json; the warm-up steps are included in both runs alike).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REFERENCE_HF, REFERENCE_SHAPE } from './util/reference-model';
import { truncatedTokenizer } from './util/truncated-tokenizer';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const DEMO_VOCAB = 32000;

function setup(dir: string, vocab: number): { model: string; data: string } {
  const model = path.join(dir, 'model');
  const data = path.join(dir, 'data');
  mkdirSync(model, { recursive: true });
  mkdirSync(data, { recursive: true });
  const demo = path.join(ROOT, 'examples/tiny-llama');
  copyFileSync(path.join(demo, 'tokenizer_config.json'), path.join(model, 'tokenizer_config.json'));
  if (vocab === DEMO_VOCAB) copyFileSync(path.join(demo, 'tokenizer.json'), path.join(model, 'tokenizer.json'));
  else writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(truncatedTokenizer(JSON.parse(readFileSync(path.join(demo, 'tokenizer.json'), 'utf8')), vocab)));
  writeFileSync(path.join(model, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], ...REFERENCE_HF, vocab_size: vocab, hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
  }));
  copyFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), path.join(data, 'kjv.jsonl'));
  writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } } }));
  return { model, data };
}

function config(dir: string, m: { model: string; data: string }, batch: number, threads: number, steps: number, extra: Record<string, unknown> = {}): string {
  const cfg: Record<string, unknown> = {
    ...extra,
    model_name_or_path: m.model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
    dataset_dir: m.data, cutoff_len: REFERENCE_SHAPE.seqLen, per_device_train_batch_size: batch, gradient_accumulation_steps: 1,
    learning_rate: 0.0005, max_steps: steps, logging_steps: steps, save_strategy: 'no', seed: 42, num_threads: threads,
    overwrite_output_dir: true, plot_loss: false, tokenizer_workers: 1,
  };
  const tag = Object.entries(extra).map(([k, v]) => `-${k}${String(v)}`).join('');
  const file = path.join(dir, `b${batch}-t${threads}${tag}.yaml`);
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
  const steps = Number(arg('steps', '150'));
  const dir = arg('dir', '/tmp/ptflow-bench-ddp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const vocab = Number(arg('vocab', String(REFERENCE_HF.vocab_size)));
  if (!(Number.isInteger(vocab) && vocab >= 512 && vocab <= DEMO_VOCAB)) throw new Error(`--vocab ${arg('vocab', '')}: a whole number from 512 to ${DEMO_VOCAB}`);
  const m = setup(dir, vocab);
  const mpiexec = ['mpiexec.mpich', 'mpiexec'].find((c) => spawnSync(c, ['--version']).status === 0);
  if (mpiexec === undefined) {
    process.stderr.write('bench/ddp-train: MPICH mpiexec not found (apt-get install mpich libmpich-dev, then node native/build.js)\n');
    process.exit(2);
  }
  const pairs = Number(arg('pairs', '3'));
  if (!(Number.isInteger(pairs) && pairs >= 1)) throw new Error(`--pairs ${arg('pairs', '')}: a whole number ≥ 1`);
  const cfgOne = config(dir, m, 8, 2, steps);
  // One 2-rank variant per bucket size asked for (none: the config's default), each run in every pair.
  const variants = arg('bucket-mb', '')
    .split(',')
    .filter(Boolean)
    .map((mb) => ({ name: `ddp_bucket_cap_mb ${mb}`, cfg: config(dir, m, 4, 1, steps, { ddp_bucket_cap_mb: Number(mb) }) }));
  if (variants.length === 0) variants.push({ name: 'default buckets', cfg: config(dir, m, 4, 1, steps) });
  const rows: { one: number; two: number[]; logs: string[] }[] = [];
  for (let i = 0; i < pairs; i++) {
    const oneOut = path.join(dir, `one-${i}`);
    run(process.execPath, [CLI, 'train', cfgOne, `output_dir=${oneOut}`]);
    const row = { one: tokensPerSecond(oneOut, steps), two: [] as number[], logs: [] as string[] };
    variants.forEach((v, k) => {
      const twoOut = path.join(dir, `two-${i}-${k}`);
      row.logs.push(run(mpiexec, ['-n', '2', process.execPath, CLI, 'train', v.cfg, `output_dir=${twoOut}`]));
      row.two.push(tokensPerSecond(twoOut, steps));
    });
    rows.push(row);
  }
  const lateOut = path.join(dir, 'two-late');
  const aloneOut = path.join(dir, 'alone');
  const oneOut = path.join(dir, 'one-last');
  // The same 2 ranks handing every gradient over after the backward pass (no overlap with it).
  const lateLog = run(mpiexec, ['-n', '2', process.execPath, CLI, 'train', variants[0].cfg, `output_dir=${lateOut}`], { PTFLOW_GRAD_HANDOVER: '0' });
  // One rank's share alone: batch 4 on 1 thread, the other core idle; then the 1-process run again, for both.
  run(process.execPath, [CLI, 'train', config(dir, m, 4, 1, steps), `output_dir=${aloneOut}`]);
  run(process.execPath, [CLI, 'train', cfgOne, `output_dir=${oneOut}`]);
  const oneLast = tokensPerSecond(oneOut, steps);
  const alone = tokensPerSecond(aloneOut, steps, 4);
  const late = tokensPerSecond(lateOut, steps);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const reduce = (l: string): string => /gradient allreduce: .*/.exec(l)?.[0] ?? 'gradient allreduce: (no line from the trainer)';
  process.stdout.write([
    `ddp-train: ${steps} steps of 8 × ${REFERENCE_SHAPE.seqLen} tokens, reference shape with vocab ${vocab}`,
    ...rows.map((r, i) =>
      `  pair ${i + 1}: 1 process × 2 threads, batch 8 ${r.one.toFixed(0)} tokens/s; 2 ranks × 1 thread, batch 4: ` +
      variants.map((v, k) => `${v.name} ${r.two[k].toFixed(0)} tokens/s, ratio ${(r.two[k] / r.one).toFixed(3)}`).join('; '),
    ),
    ...variants.flatMap((v, k) => [
      `  ratio (2 ranks / 1 process), ${v.name}, median of ${pairs}   ${median(rows.map((r) => r.two[k] / r.one)).toFixed(3)}   (target ≥ 0.9)`,
      `    rank 0 (last pair): ${reduce(rows[rows.length - 1].logs[k])}`,
    ]),
    `  2 ranks (${variants[0].name}), gradients handed over after backward (PTFLOW_GRAD_HANDOVER=0)   ${late.toFixed(0)} tokens/s, ratio ${(late / oneLast).toFixed(3)} to the 1-process run after it`,
    `    rank 0: ${reduce(lateLog)}`,
    `  1 process × 1 thread, batch 4    ${alone.toFixed(0)} tokens/s: ceiling of the ratio 2 × that / 1 process (run after it, ${oneLast.toFixed(0)} tokens/s) = ${((2 * alone) / oneLast).toFixed(3)}`,
  ].join('\n') + '\n');
}

main();
