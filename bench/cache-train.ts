/**
 * Training from a tokenized cache read by offset (actors/CacheBlockActor.ts) at two cache sizes, against
 * loading the small one into memory (PTFLOW_CACHE_READ=memory: CacheShardActor → CollatorActor), same
 * run, same machine:
 *
 *   peak RSS      large / small (offset reader)        target ≤ 1.10
 *   first step    large / small (offset reader)        target ≤ 1.20   (spawn → first "[step 1]" line)
 *   steps/s       offset / in-memory, small cache      target ≥ 0.95   (steps 2..N, one log line per step)
 *
 *   node dist/bench/cache-train.js [--small-gb 0.5] [--large-gb 4] [--cutoff 1024] [--steps 20] [--batch 4] [--reps 1]
 *                                  [--dir /tmp/ptflow-bench-cache] [--skip-memory] [--json]
 *
 * The caches are synthetic: random token ids (< 32000) in documents of 16..2047 tokens, written with
 * the cache's own writer (PartWriter, parts of at most 512 MB) and indexed as the current config's
 * cache (its fingerprint covers a one-line stub dataset), so `ptflow train` reads them as prepared
 * ones. They are generated into --dir once and reused. It also times the per-epoch permutation of the
 * large cache's block indices (4 bytes per block). With --reps R the three runs are repeated in turn
 * R times and each figure is the median (a shared machine's load drifts between runs); each run's
 * figures are printed to stderr as it ends. Steps of --batch 4 at cutoff_len 1024 spend most of their
 * time in the 32000-way output layer; --batch 1 makes reading a larger share of each step (a stricter
 * steps/s check) and the runs shorter.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTrainConfig } from '../src/config';
import { PartWriter } from '../src/cache/arrow-part';
import { tokenizerFingerprint } from '../src/cache/fingerprint';
import { writeIndex } from '../src/cache/index-file';
import { partFile } from '../src/cache/layout';
import { ensureCacheOffsets } from '../src/cache/part-offsets';
import { epochOrder } from '../src/data/epoch-order';
import { usageError } from '../src/errors';
import { configuredDatasets, expectedPreprocessing } from '../src/workflow/prepare';
import { TOKEN_CACHE_FORMAT, TOKEN_CACHE_VERSION, type PartFile, type TokenCacheIndex } from '../schemas/token-cache';
import { xorshift32 } from './util/xorshift';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');
const PART_BYTES = 512e6;

interface Args {
  smallGb: number;
  largeGb: number;
  cutoff: number;
  steps: number;
  batch: number;
  reps: number;
  dir: string;
  skipMemory: boolean;
  json: boolean;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      'small-gb': { type: 'string', default: '0.5' }, 'large-gb': { type: 'string', default: '4' }, cutoff: { type: 'string', default: '1024' },
      steps: { type: 'string', default: '20' }, batch: { type: 'string', default: '4' }, reps: { type: 'string', default: '1' }, dir: { type: 'string', default: '/tmp/ptflow-bench-cache' },
      'skip-memory': { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (k: string, v: string | undefined, int: boolean): number => {
    const n = Number(v);
    if (!(n > 0) || (int && !Number.isInteger(n))) throw usageError(`--${k}: expected a positive ${int ? 'integer' : 'number'}, got "${v}"`);
    return n;
  };
  return {
    smallGb: num('small-gb', values['small-gb'], false), largeGb: num('large-gb', values['large-gb'], false), cutoff: num('cutoff', values.cutoff, true),
    steps: num('steps', values.steps, true), batch: num('batch', values.batch, true), reps: num('reps', values.reps, true), dir: values.dir!, skipMemory: values['skip-memory'] ?? false, json: values.json ?? false,
  };
}

function tinyModel(dir: string, cutoff: number): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(m, f));
  writeFileSync(path.join(m, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, hidden_act: 'silu', max_position_embeddings: Math.max(2048, cutoff),
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
  }));
  return m;
}

function writeConfig(dir: string, name: string, cfg: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, Object.entries(cfg).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
  return file;
}

/** A synthetic cache of ≥ gb GB of token ids at `cache`, indexed for `cfgFile`'s settings. */
async function makeCache(cfgFile: string, cache: string, gb: number, model: string): Promise<{ tokens: number; bytes: number; ms: number }> {
  const marker = path.join(cache, '.bench-done');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as { tokens: number; bytes: number; ms: number };
  const t0 = performance.now();
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(path.join(cache, 'train'), { recursive: true });
  const c = loadTrainConfig(cfgFile, []).config;
  const { trainSets, evalSets } = configuredDatasets(c);
  const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, tokenizerFingerprint(model));
  const totalTokens = Math.ceil((gb * 1e9) / 4);
  const nParts = Math.max(1, Math.ceil((gb * 1e9) / PART_BYTES));
  const next = xorshift32();
  const parts: PartFile[] = [];
  let docs = 0;
  let tokens = 0;
  for (let r = 0; r < nParts; r++) {
    const rel = partFile('train', r, nParts);
    const w = new PartWriter(path.join(cache, rel));
    const first = docs;
    const goal = Math.ceil((totalTokens * (r + 1)) / nParts);
    let k = 0;
    while (tokens < goal) {
      const len = 16 + (next() % 2032);
      const ids = new Int32Array(len);
      for (let i = 0; i < len; i++) ids[i] = next() % 32000;
      w.add(ids);
      tokens += len;
      docs++;
      if (++k % 512 === 0) await w.drain();
    }
    const st = await w.close();
    parts.push({ file: rel, rank: r, first, documents: st.documents, tokens: st.tokens, bytes: st.bytes });
  }
  const index: TokenCacheIndex = {
    format: TOKEN_CACHE_FORMAT, format_version: TOKEN_CACHE_VERSION, fingerprint, tokenizer_fingerprint: preprocessing.tokenizer, preprocessing,
    world_size: nParts, splits: { train: { documents: docs, tokens, parts } },
  };
  await writeIndex(cache, index);
  await ensureCacheOffsets(cache, index);
  const result = { tokens, bytes: parts.reduce((a, p) => a + p.bytes, 0), ms: Math.round(performance.now() - t0) };
  writeFileSync(marker, JSON.stringify(result));
  return result;
}

interface RunResult {
  firstStepMs: number;
  stepsPerSec: number;
  peakRssMb: number;
}

/** `ptflow train cfg` under /usr/bin/time: ms to the first step line, steps/s over steps 2..N, peak RSS. */
function run(cfg: string, out: string, env: Record<string, string>, steps: number): Promise<RunResult> {
  rmSync(out, { recursive: true, force: true });
  const rssFile = `${out}.rss`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, CLI, 'train', cfg, `output_dir=${out}`], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
    });
    let stderr = '';
    const at = new Map<number, number>();
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      for (const m of stderr.matchAll(/\[step (\d+)\] loss=/g)) if (!at.has(Number(m[1]))) at.set(Number(m[1]), performance.now() - t0);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const first = at.get(1);
      const last = at.get(steps);
      if (code !== 0 || first === undefined || last === undefined) {
        reject(new Error(`ptflow train ${cfg} failed (exit ${code}):\n${stderr.slice(-4000)}`));
        return;
      }
      const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      resolve({ firstStepMs: Math.round(first), stepsPerSec: ((steps - 1) * 1000) / (last - first), peakRssMb: Math.round(kb / 1024) });
    });
  });
}

async function main(): Promise<void> {
  const a = args();
  mkdirSync(a.dir, { recursive: true });
  const model = tinyModel(a.dir, a.cutoff);
  const data = path.join(a.dir, 'data');
  mkdirSync(data, { recursive: true });
  if (!existsSync(path.join(data, 'stub.jsonl'))) writeFileSync(path.join(data, 'stub.jsonl'), JSON.stringify({ text: 'synthetic cache' }) + '\n');
  writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ stub: { file_name: 'stub.jsonl', columns: { prompt: 'text' } } }));
  const cfg = (name: string, cache: string): string =>
    writeConfig(a.dir, name, {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'stub',
      dataset_dir: data, cutoff_len: a.cutoff, val_size: 0, per_device_train_batch_size: a.batch, max_steps: a.steps, logging_steps: 1,
      save_steps: 100000, save_strategy: 'no', learning_rate: 0.001, seed: 42, output_dir: path.join(a.dir, 'out'), tokenizer_workers: 1,
      tokenized_path: cache, backend: 'cpu',
    });
  const smallCfg = cfg('small', path.join(a.dir, `cache-${a.smallGb}gb`));
  const largeCfg = cfg('large', path.join(a.dir, `cache-${a.largeGb}gb`));
  const small = await makeCache(smallCfg, path.join(a.dir, `cache-${a.smallGb}gb`), a.smallGb, model);
  const large = await makeCache(largeCfg, path.join(a.dir, `cache-${a.largeGb}gb`), a.largeGb, model);

  const blocks = Math.floor(large.tokens / a.cutoff);
  let t = performance.now();
  const perm = epochOrder(blocks, 0, 42, false);
  const permMs = performance.now() - t;

  const runs: { small: RunResult[]; large: RunResult[]; memory: RunResult[] } = { small: [], large: [], memory: [] };
  // Each run's figures go to stderr as it ends: on a busy machine a run takes minutes.
  const one = async (name: keyof typeof runs, cfgFile: string, env: Record<string, string>, r: number): Promise<void> => {
    const res = await run(cfgFile, path.join(a.dir, `out-${name}`), env, a.steps);
    runs[name].push(res);
    console.error(`rep ${r + 1}/${a.reps} ${name}: first step ${res.firstStepMs} ms, ${res.stepsPerSec.toFixed(3)} steps/s, peak RSS ${res.peakRssMb} MB`);
  };
  for (let r = 0; r < a.reps; r++) {
    await one('small', smallCfg, {}, r);
    await one('large', largeCfg, {}, r);
    if (!a.skipMemory) await one('memory', smallCfg, { PTFLOW_CACHE_READ: 'memory' }, r);
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const summary = (rs: RunResult[]): RunResult => ({
    firstStepMs: median(rs.map((r) => r.firstStepMs)), stepsPerSec: median(rs.map((r) => r.stepsPerSec)), peakRssMb: median(rs.map((r) => r.peakRssMb)),
  });
  const offSmall = summary(runs.small);
  const offLarge = summary(runs.large);
  const mem = a.skipMemory ? null : summary(runs.memory);

  const result = {
    cutoff_len: a.cutoff, steps: a.steps, batch: a.batch, reps: a.reps,
    small_cache: { gb: small.bytes / 1e9, tokens: small.tokens }, large_cache: { gb: large.bytes / 1e9, tokens: large.tokens },
    permutation: { blocks, ms: Math.round(permMs), bytes: perm.byteLength },
    offset_small: offSmall, offset_large: offLarge, memory_small: mem, runs,
    ratios: {
      peak_rss_large_over_small: offLarge.peakRssMb / offSmall.peakRssMb,
      first_step_large_over_small: offLarge.firstStepMs / offSmall.firstStepMs,
      steps_per_sec_offset_over_memory: mem ? offSmall.stepsPerSec / mem.stepsPerSec : null,
    },
  };
  if (a.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const f = (r: RunResult) => `first step ${r.firstStepMs} ms, ${r.stepsPerSec.toFixed(2)} steps/s, peak RSS ${r.peakRssMb} MB`;
  console.log(`caches: ${result.small_cache.gb.toFixed(2)} GB (${small.tokens} tokens), ${result.large_cache.gb.toFixed(2)} GB (${large.tokens} tokens); cutoff_len ${a.cutoff}, ${a.steps} steps of ${a.batch} blocks, median of ${a.reps}`);
  console.log(`permutation of ${blocks} block indices: ${result.permutation.ms} ms, ${(perm.byteLength / 2 ** 20).toFixed(1)} MiB`);
  console.log(`offset reader, small cache: ${f(offSmall)}`);
  console.log(`offset reader, large cache: ${f(offLarge)}`);
  if (mem) console.log(`in memory,     small cache: ${f(mem)}`);
  console.log(`peak RSS   large / small: ${result.ratios.peak_rss_large_over_small.toFixed(3)} (target ≤ 1.10)`);
  console.log(`first step large / small: ${result.ratios.first_step_large_over_small.toFixed(3)} (target ≤ 1.20)`);
  if (mem) console.log(`steps/s offset / memory: ${result.ratios.steps_per_sec_offset_over_memory!.toFixed(3)} (target ≥ 0.95)`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
