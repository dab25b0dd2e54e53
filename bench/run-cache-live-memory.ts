/**
 * What building the run's token cache (map mode without tokenized_path) and reading training rows from
 * it keep alive, at one corpus size; src/cache/run-cache-memory.test.ts compares two sizes. A process
 * of its own: a test runner's heap would be counted and make every forced collection slow.
 *
 *   node --expose-gc dist/bench/run-cache-live-memory.js <work dir> <model dir> <times>
 *     → one JSON line { tokens, blocks, build, read }
 *
 * The corpus is the demo's (examples/data/kjv_demo.jsonl, ~167k tokens) `times` times over. `build`
 * is the largest live memory (heap + ArrayBuffers after a forced collection) above the start while
 * the cache is built, sampled as the build places documents (every 128th into the scratch file and
 * into a part, where the build's buffers are at their fullest); `read` the same while a shuffled
 * epoch's rows are read by offset, as CacheBlockActor does. A warm-up build of the corpus once comes
 * first (code compiled, tokenizer loaded).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadTrainConfig } from '../src/config';
import { loadTokenizer } from '../src/data/tokenizer';
import { configuredDatasets, expectedPreprocessing } from '../src/workflow/prepare';
import { PartWriter } from '../src/cache/arrow-part';
import { BlockSource } from '../src/cache/block-source';
import { mapMicroBatches } from '../src/cache/block-order';
import { ensurePartOffsets } from '../src/cache/part-offsets';
import { ensureRunCache } from '../src/cache/run-cache';
import { Spill } from '../src/cache/spill';
import { SplitTokens } from '../src/cache/split-tokens';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const retained = (): number => {
  // Twice: V8 frees ArrayBuffer memory behind a collection (concurrent sweeping), counted until then.
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const ROOT = path.resolve(__dirname, '..', '..');
const [root, model, timesArg] = process.argv.slice(2);

function writeYaml(file: string, cfg: Record<string, unknown>): string {
  writeFileSync(file, Object.entries(cfg).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
  return file;
}
const CUTOFF = 128;

/** The demo corpus (160 chapters, ~167k tokens) `times` times over, as one jsonl dataset. */
function corpus(times: number): string {
  const d = path.join(root, `data-${times}`);
  mkdirSync(d, { recursive: true });
  const text = readFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), 'utf8');
  writeFileSync(path.join(d, 'kjv.jsonl'), (text.endsWith('\n') ? text : `${text}\n`).repeat(times));
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } } }));
  return d;
}

interface Measured {
  tokens: number;
  blocks: number;
  /** Largest live memory above the start, while building and while reading rows. */
  build: number;
  read: number;
}

async function measure(times: number, tokenizerFingerprint: string): Promise<Measured> {
  const out = path.join(root, `out-${times}`);
  const cfg = writeYaml(path.join(root, `x${times}.yaml`), {
    model_name_or_path: model, stage: 'pt', do_train: true, dataset: 'kjv', dataset_dir: corpus(times), cutoff_len: CUTOFF,
    val_size: 8, seed: 3, output_dir: out,
  });
  const c = loadTrainConfig(cfg, []).config;
  const { trainSets, evalSets } = configuredDatasets(c);
  const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, tokenizerFingerprint);
  const base = retained();
  let peak = base;
  // Sampled as the build places documents: every 128th into the scratch file (tokenizing) and into
  // a part (writing), where the build's buffers are at their fullest.
  let placed = 0;
  const sample = (): void => {
    if (++placed % 128 === 0) peak = Math.max(peak, retained());
  };
  const put = Spill.prototype.put;
  const add = PartWriter.prototype.add;
  Spill.prototype.put = function (this: Spill, ...a: Parameters<Spill['put']>) {
    sample();
    return put.apply(this, a);
  };
  PartWriter.prototype.add = function (this: PartWriter, ...a: Parameters<PartWriter['add']>) {
    sample();
    return add.apply(this, a);
  };
  let index;
  try {
    index = await ensureRunCache({
      dir: path.join(out, '.ptflow-cache'), tokenizer_dir: model, workers: 1, train: trainSets, eval: evalSets, preprocessing, fingerprint,
      max_samples: null, mix_strategy: c.mix_strategy, interleave_probs: null, val_size: c.val_size, seed: c.seed, do_train: true,
      on_bad_record: 'error',
    }, new Writable({ write: (_c, _e, done) => done() }));
  } finally {
    Spill.prototype.put = put;
    PartWriter.prototype.add = add;
  }
  if (placed < 2 * 128) throw new Error(`only ${placed} documents placed: nothing sampled`);
  const build = Math.max(peak, retained()) - base;

  // Reading: as CacheBlockActor does, a shuffled epoch's micro-batches of rows read by offset.
  const dir = path.join(out, '.ptflow-cache');
  const parts = index.splits.train!.parts;
  const offsets = [];
  for (const p of parts) offsets.push(await ensurePartOffsets(dir, p, index.fingerprint));
  const readBase = retained();
  const src = new BlockSource(SplitTokens.open(dir, parts, offsets), { cutoffLen: CUTOFF, packing: true, neatPacking: true });
  let readPeak = readBase;
  try {
    const batches = mapMicroBatches({ blocks: src.count, batchSize: 8, seed: 3, keepOrder: false, rank: 0, worldSize: 1 }, { epoch: 0, micro: 0 });
    for (let k = 0; k < 200; k++) {
      for (const i of batches.next().value.rows) src.row(i);
      if (k % 50 === 0) readPeak = Math.max(readPeak, retained());
    }
    readPeak = Math.max(readPeak, retained());
  } finally {
    src.tokens.close();
  }
  rmSync(out, { recursive: true, force: true });
  return { tokens: index.splits.train!.tokens + (index.splits.validation?.tokens ?? 0), blocks: src.count, build, read: readPeak - readBase };
}

async function main(): Promise<void> {
  if (!root || !model || !(Number(timesArg) >= 1)) throw new Error('usage: node --expose-gc dist/bench/run-cache-live-memory.js <work dir> <model dir> <times ≥ 1>');
  const fp = (await loadTokenizer(model)).fingerprint;
  await measure(1, fp);
  console.log(JSON.stringify(await measure(Number(timesArg), fp)));
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
