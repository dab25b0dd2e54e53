/**
 * Peak RSS of map mode without tokenized_path, old path against new, at two corpus sizes, same machine:
 *
 *   in memory   PTFLOW_CACHE_READ=memory: reader → tokenizer → collator, every block in the collator
 *   run cache   the default: the run's own token cache in <output_dir>/.ptflow-cache, blocks read by offset
 *
 * The corpus is the demo's (examples/data/kjv_demo.jsonl, 160 chapters, ~167k tokens) repeated
 * --sizes times (each copy of a chapter is a document). It prints each run's peak RSS (/usr/bin/time)
 * and the ratios: large / small per path (how memory grows with the corpus) and run cache / in memory
 * on the large corpus. Times are printed for information only.
 *
 *   node dist/bench/map-cache-memory.js [--sizes 2,16] [--steps 3] [--cutoff 128] [--dir /tmp/ptflow-bench-map-cache] [--json]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { usageError } from '../src/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'ptflow.js');

interface Args {
  sizes: number[];
  steps: number;
  cutoff: number;
  dir: string;
  json: boolean;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '2,16' }, steps: { type: 'string', default: '3' }, cutoff: { type: 'string', default: '128' },
      dir: { type: 'string', default: '/tmp/ptflow-bench-map-cache' }, json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (k: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw usageError(`--${k}: expected a positive integer, got "${v}"`);
    return n;
  };
  const sizes = values.sizes!.split(',').map((s) => int('sizes', s.trim()));
  if (sizes.length !== 2 || sizes[0] >= sizes[1]) throw usageError(`--sizes: expected two sizes, small,large (e.g. 2,16), got "${values.sizes}"`);
  return { sizes, steps: int('steps', values.steps!), cutoff: int('cutoff', values.cutoff!), dir: values.dir!, json: values.json ?? false };
}

function tinyModel(dir: string): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(m, f));
  writeFileSync(path.join(m, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, hidden_act: 'silu', max_position_embeddings: 2048,
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
  }));
  return m;
}

/** The demo corpus repeated `times` times in `dir/data-<times>/`. */
function corpus(dir: string, times: number): string {
  const d = path.join(dir, `data-${times}`);
  mkdirSync(d, { recursive: true });
  const text = readFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), 'utf8');
  writeFileSync(path.join(d, 'kjv.jsonl'), text.endsWith('\n') ? text.repeat(times) : `${text}\n`.repeat(times));
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } } }));
  return d;
}

interface RunResult {
  peakRssMb: number;
  wallMs: number;
  trainBlocks: number;
}

/** `ptflow train cfg` under /usr/bin/time: peak RSS of the whole process (all threads), wall time. */
function run(cfg: string, out: string, env: Record<string, string>): Promise<RunResult> {
  rmSync(out, { recursive: true, force: true });
  const rssFile = `${out}.rss`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, CLI, 'train', cfg, `output_dir=${out}`], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => void (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const blocks = /→ (\d+) training blocks/.exec(stderr);
      if (code !== 0 || !blocks) {
        reject(new Error(`ptflow train ${cfg} failed (exit ${code}):\n${stderr.slice(-4000)}`));
        return;
      }
      const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      resolve({ peakRssMb: Math.round(kb / 1024), wallMs: Math.round(performance.now() - t0), trainBlocks: Number(blocks[1]) });
    });
  });
}

async function main(): Promise<void> {
  const a = args();
  mkdirSync(a.dir, { recursive: true });
  const model = tinyModel(a.dir);
  const results: Record<string, Record<'memory' | 'cache', RunResult>> = {};
  for (const times of a.sizes) {
    const cfg = path.join(a.dir, `x${times}.yaml`);
    const c: Record<string, unknown> = {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
      dataset_dir: corpus(a.dir, times), cutoff_len: a.cutoff, val_size: 8, per_device_train_batch_size: 4, max_steps: a.steps,
      logging_steps: 1, save_strategy: 'no', eval_strategy: 'no', learning_rate: 0.001, seed: 42, tokenizer_workers: 1, backend: 'cpu',
      overwrite_output_dir: true,
    };
    writeFileSync(cfg, Object.entries(c).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
    const memory = await run(cfg, path.join(a.dir, `out-memory-x${times}`), { PTFLOW_CACHE_READ: 'memory' });
    const cache = await run(cfg, path.join(a.dir, `out-cache-x${times}`), {});
    if (memory.trainBlocks !== cache.trainBlocks) throw new Error(`x${times}: ${memory.trainBlocks} blocks in memory, ${cache.trainBlocks} from the run cache`);
    results[`x${times}`] = { memory, cache };
  }
  const [small, large] = a.sizes.map((t) => results[`x${t}`]);
  const ratios = {
    memory_large_over_small: large.memory.peakRssMb / small.memory.peakRssMb,
    cache_large_over_small: large.cache.peakRssMb / small.cache.peakRssMb,
    cache_over_memory_large: large.cache.peakRssMb / large.memory.peakRssMb,
  };
  if (a.json) {
    console.log(JSON.stringify({ sizes: a.sizes, steps: a.steps, cutoff_len: a.cutoff, results, ratios }, null, 2));
    return;
  }
  for (const t of a.sizes) {
    const r = results[`x${t}`];
    console.log(`demo corpus x${t} (${r.cache.trainBlocks} training blocks of ${a.cutoff}): in memory peak RSS ${r.memory.peakRssMb} MB (${r.memory.wallMs} ms), run cache ${r.cache.peakRssMb} MB (${r.cache.wallMs} ms)`);
  }
  console.log(`peak RSS large / small, in memory: ${ratios.memory_large_over_small.toFixed(3)}`);
  console.log(`peak RSS large / small, run cache: ${ratios.cache_large_over_small.toFixed(3)}`);
  console.log(`peak RSS run cache / in memory, x${a.sizes[1]}: ${ratios.cache_over_memory_large.toFixed(3)}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
