/**
 * Resume benchmark for `streaming: true`: time from process start to the first optimizer step when a
 * streamed run resumes from a checkpoint early in the data (step 10) and from one deep in it ("step
 * 5000", its cursor ~90 % into a ≥ 1 GB corpus). Resume seeks by position, so the two should cost the
 * same; the ratio deep / early is printed (target: within 20 %).
 *
 *   node dist/bench/resume.js [--gb 1] [--reps 3] [--dir /tmp/ptflow-bench-resume] [--json]
 *
 * The corpus (the KJV demo chapters repeated, each copy with its words rotated differently, as .jsonl)
 * is generated into --dir once and reused. The early checkpoint comes from a real 10-step run of a tiny
 * model; the deep one is that checkpoint with its step set to 5000 and a stream cursor computed by
 * running the stream (shuffle buffer included) to 90 % of the corpus in this process — the cursor a
 * long run would have written, without training 5000 steps first.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EpochStream } from '../src/data/stream/epoch-stream';
import type { StreamCursor } from '../schemas/stream-cursor';
import type { DatasetSpec } from '../src/data/registry';
import { usageError } from '../src/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');
const SEED = 42;
const BUFFER = 16384;
const VAL = 8;

function args(): { gb: number; reps: number; dir: string; json: boolean } {
  const { values } = parseArgs({
    options: { gb: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' }, dir: { type: 'string', default: '/tmp/ptflow-bench-resume' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const gb = Number(values.gb);
  const reps = Number(values.reps);
  if (!(gb > 0)) throw usageError(`--gb: expected a positive number, got "${values.gb}"`);
  if (!Number.isInteger(reps) || reps < 1) throw usageError(`--reps: expected a positive integer, got "${values.reps}"`);
  return { gb, reps, dir: values.dir!, json: values.json ?? false };
}

/** ≥ `gb` GB of JSON lines: the demo chapters again and again, copy r with words rotated by r·7. */
function makeCorpus(file: string, gb: number): { bytes: number; docs: number } {
  const marker = `${file}.done`;
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as { bytes: number; docs: number };
  const chapters = readFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text.split(' '));
  const fd = openSync(file, 'w');
  let bytes = 0;
  let docs = 0;
  for (let r = 0; bytes < gb * 1e9; r++) {
    const lines: string[] = [];
    for (const words of chapters) {
      const k = (r * 7) % words.length;
      lines.push(JSON.stringify({ text: `[${r}] ` + [...words.slice(k), ...words.slice(0, k)].join(' ') }));
    }
    const block = lines.join('\n') + '\n';
    writeSync(fd, block);
    bytes += Buffer.byteLength(block);
    docs += lines.length;
  }
  closeSync(fd);
  writeFileSync(marker, JSON.stringify({ bytes, docs }));
  return { bytes, docs };
}

function tinyModel(dir: string): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(m, f));
  writeFileSync(path.join(m, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, hidden_act: 'silu', max_position_embeddings: 128,
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
  }));
  return m;
}

function config(dir: string, model: string, data: string, out: string, maxSteps: number): string {
  const cfg = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'corpus',
    dataset_dir: data, cutoff_len: 32, streaming: true, buffer_size: BUFFER, val_size: VAL, per_device_train_batch_size: 4,
    max_steps: maxSteps, logging_steps: 1, save_steps: 10, learning_rate: 0.001, seed: SEED, output_dir: out, tokenizer_workers: 1,
  };
  const file = path.join(dir, `cfg-${path.basename(out)}-${maxSteps}.yaml`);
  writeFileSync(file, Object.entries(cfg).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
  return file;
}

/** Run `ptflow train cfg`; resolves with ms from spawn to the first "[step N]" line, and the exit. */
function timeToFirstStep(cfg: string): Promise<{ ms: number; step: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'train', cfg], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let first: { ms: number; step: number } | null = null;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      const m = /\[step (\d+)\]/.exec(stderr);
      if (m && !first) first = { ms: performance.now() - t0, step: Number(m[1]) };
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!first) reject(new Error(`no step reported (exit ${code}):\n${stderr}`));
      else resolve({ ...first, code, stderr });
    });
  });
}

/** Keep only checkpoint-`keep` (a finished resumed run leaves newer checkpoints and final files). */
function resetOutput(out: string, keep: number): void {
  for (const n of readdirSync(out)) if (n !== `checkpoint-${keep}`) rmSync(path.join(out, n), { recursive: true, force: true });
}

async function deepCursor(spec: DatasetSpec, targetDocs: number, micro: number): Promise<StreamCursor> {
  const cfg = { datasets: [spec], mixStrategy: 'concat' as const, interleaveProbs: null, seed: SEED, bufferSize: BUFFER, valSize: VAL };
  const s = await EpochStream.open(cfg, 0, { bytes: 0 });
  while (s.taken < targetDocs) if (!(await s.next())) throw new Error('corpus ended before the target');
  const shard = s.snapshot(s.taken - VAL);
  await s.close();
  return { kind: 'stream', shard, doc: 0, token: 0, micro };
}

async function main(): Promise<void> {
  const a = args();
  mkdirSync(a.dir, { recursive: true });
  const data = path.join(a.dir, 'data');
  mkdirSync(data, { recursive: true });
  const corpusFile = path.join(data, 'corpus.jsonl');
  let t = performance.now();
  const corpus = makeCorpus(corpusFile, a.gb);
  const genMs = performance.now() - t;
  writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ corpus: { file_name: 'corpus.jsonl', columns: { prompt: 'text' } } }));
  const spec: DatasetSpec = { name: 'corpus', files: [corpusFile], format: 'jsonl', textColumn: 'text' };
  const model = tinyModel(a.dir);
  const early = path.join(a.dir, 'early');
  const deep = path.join(a.dir, 'deep');
  rmSync(early, { recursive: true, force: true });
  rmSync(deep, { recursive: true, force: true });

  // A real 10-step streamed run: checkpoint-10 (and the fresh-start time, for reference).
  const fresh = await timeToFirstStep(config(a.dir, model, data, early, 10));
  if (fresh.code !== 0) throw new Error(`the 10-step run failed:\n${fresh.stderr}`);
  resetOutput(early, 10);

  // The deep checkpoint: checkpoint-10's files, step 5000, a cursor 90 % into the corpus.
  t = performance.now();
  const cursor = await deepCursor(spec, Math.floor(corpus.docs * 0.9), 5000);
  const cursorMs = performance.now() - t;
  const ck = path.join(deep, 'checkpoint-5000');
  cpSync(path.join(early, 'checkpoint-10'), ck, { recursive: true });
  const stateFile = path.join(ck, 'trainer_state.json');
  writeFileSync(stateFile, JSON.stringify({ ...JSON.parse(readFileSync(stateFile, 'utf8')), global_step: 5000 }, null, 2));
  const progressFile = path.join(ck, 'ptflow_state.json');
  writeFileSync(progressFile, JSON.stringify({ ...JSON.parse(readFileSync(progressFile, 'utf8')), cursor }));
  const deepByte = cursor.shard.sources[0].pos;

  const earlyMs: number[] = [];
  const deepMs: number[] = [];
  for (let r = 0; r < a.reps; r++) {
    for (const [out, step, list] of [[early, 10, earlyMs], [deep, 5000, deepMs]] as const) {
      resetOutput(out, step);
      const res = await timeToFirstStep(config(a.dir, model, data, out, step + 1));
      if (res.code !== 0 || res.step !== step + 1) throw new Error(`resume from step ${step} failed (exit ${res.code}, first step ${res.step}):\n${res.stderr}`);
      list.push(res.ms);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const result = {
    corpus: { bytes: corpus.bytes, docs: corpus.docs, generate_ms: Math.round(genMs), file: corpusFile, size_on_disk: statSync(corpusFile).size },
    fresh_first_step_ms: Math.round(fresh.ms),
    early: { step: 10, first_step_ms: earlyMs.map(Math.round), median_ms: Math.round(median(earlyMs)) },
    deep: { step: 5000, cursor_byte: deepByte, cursor_build_ms: Math.round(cursorMs), first_step_ms: deepMs.map(Math.round), median_ms: Math.round(median(deepMs)) },
    ratio_deep_over_early: median(deepMs) / median(earlyMs),
  };
  if (a.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`corpus: ${(corpus.bytes / 1e9).toFixed(2)} GB, ${corpus.docs} documents (${corpusFile})`);
  console.log(`fresh start → first step: ${result.fresh_first_step_ms} ms (fills the ${BUFFER}-document shuffle buffer)`);
  console.log(`resume at step 10   (cursor near the start)          → first step: median ${result.early.median_ms} ms  [${result.early.first_step_ms.join(', ')}]`);
  console.log(`resume at step 5000 (cursor at byte ${(deepByte / 1e9).toFixed(2)} GB of ${(corpus.bytes / 1e9).toFixed(2)}) → first step: median ${result.deep.median_ms} ms  [${result.deep.first_step_ms.join(', ')}]`);
  console.log(`ratio deep / early: ${result.ratio_deep_over_early.toFixed(3)} (target ≤ 1.20)`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
