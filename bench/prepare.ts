/**
 * `ptflow prepare` benchmark: the whole preparation path (read → zstd decompress → JSON → tokenize →
 * Arrow parts + index.json) through the real CLI in a child process, on a generated `.jsonl.zst`
 * corpus of real text (the KJV demo chapters, repeated with variations).
 *
 *   1. throughput: tokenizer_workers 2 vs 1 on the same corpus (--mb), the ratio (target ≥ 1.3×)
 *   2. memory: peak RSS of prepare on two corpus sizes (--rss-mb, default 1024,4096 MB of JSON
 *      lines before compression), the ratio (target: within 10 %, i.e. memory does not grow with
 *      the corpus)
 *
 * `--val-size N` holds out N documents (a seeded shuffle: documents go through prepare's scratch file).
 *
 *   node dist/bench/prepare.js [--mb 16] [--rss-mb 1024,4096] [--rss-workers 1] [--tokenizer llama3|tiny] [--val-size 0]
 *                              [--skip-throughput] [--skip-rss] [--dir DIR] [--keep] [--json]
 *
 * Needs the `zstd` command to write the corpus. Sizes are of the uncompressed JSON lines.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { usageError } from '../src/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const KJV = path.join(ROOT, 'examples', 'data', 'kjv_demo.jsonl');
const MB = 1e6;

interface Args {
  mb: number;
  rssMb: number[];
  rssWorkers: number;
  valSize: number;
  tokenizer: 'llama3' | 'tiny';
  skipThroughput: boolean;
  skipRss: boolean;
  dir: string;
  keep: boolean;
  json: boolean;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      mb: { type: 'string', default: '16' },
      'rss-mb': { type: 'string', default: '1024,4096' },
      'rss-workers': { type: 'string', default: '1' },
      'val-size': { type: 'string', default: '0' },
      tokenizer: { type: 'string', default: 'llama3' },
      'skip-throughput': { type: 'boolean', default: false },
      'skip-rss': { type: 'boolean', default: false },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (flag: string, v: string): number => {
    const n = Number(v);
    if (!(n > 0)) throw usageError(`--${flag}: expected a positive number, got "${v}"`);
    return n;
  };
  const tokenizer = values.tokenizer as string;
  if (tokenizer !== 'llama3' && tokenizer !== 'tiny') throw usageError(`--tokenizer: expected llama3 or tiny, got "${tokenizer}"`);
  return {
    mb: num('mb', values.mb as string),
    rssMb: (values['rss-mb'] as string).split(',').map((v) => num('rss-mb', v)),
    rssWorkers: num('rss-workers', values['rss-workers'] as string),
    valSize: values['val-size'] === '0' ? 0 : num('val-size', values['val-size'] as string),
    tokenizer,
    skipThroughput: values['skip-throughput'] as boolean,
    skipRss: values['skip-rss'] as boolean,
    dir: (values.dir as string | undefined) ?? path.join(os.tmpdir(), `ptflow-bench-prepare-${process.pid}`),
    keep: values.keep as boolean,
    json: values.json as boolean,
  };
}

/** A model directory holding only what prepare reads: the tokenizer files. */
function modelDir(dir: string, which: Args['tokenizer']): string {
  const m = path.join(dir, `model-${which}`);
  mkdirSync(m, { recursive: true });
  const src = which === 'llama3' ? path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-llama3', 'models') : path.join(ROOT, 'examples', 'tiny-llama');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(path.join(src, f))) throw usageError(`${path.join(src, f)} is missing (--tokenizer ${which})`);
    copyFileSync(path.join(src, f), path.join(m, f));
  }
  return m;
}

/** Chapters of the demo corpus, each repeat varied (verses rotated, a copy number) so no two documents are equal. */
function* corpusLines(targetBytes: number): Generator<string> {
  const chapters = readFileSync(KJV, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  let bytes = 0;
  for (let copy = 0; ; copy++) {
    for (let c = 0; c < chapters.length; c++) {
      const verses = chapters[c].split(/(?<=[.;:?!]) /);
      const k = verses.length > 0 ? (copy * 7 + c) % verses.length : 0;
      const text = `(${copy}) ` + [...verses.slice(k), ...verses.slice(0, k)].join(' ');
      const line = JSON.stringify({ text }) + '\n';
      bytes += Buffer.byteLength(line);
      yield line;
      if (bytes >= targetBytes) return;
    }
  }
}

/** Write `mb` MB of JSON lines through `zstd` into `file` (skipped when it exists). */
async function writeCorpus(file: string, mb: number): Promise<void> {
  if (existsSync(file)) return;
  const tmp = `${file}.tmp`;
  const z = spawn('zstd', ['-q', '-f', '-3', '-T0', '-o', tmp], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    z.on('error', (e) => reject(new Error(`cannot run zstd (needed to write the corpus): ${e.message}`)));
    z.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`))));
  });
  let chunk: string[] = [];
  let size = 0;
  for (const line of corpusLines(mb * MB)) {
    chunk.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      if (!z.stdin.write(chunk.join(''))) await new Promise((r) => z.stdin.once('drain', r));
      chunk = [];
      size = 0;
    }
  }
  z.stdin.end(chunk.join(''));
  await done;
  const { renameSync } = await import('node:fs');
  renameSync(tmp, file);
}

function writeConfig(dir: string, name: string, model: string, dataDir: string, cache: string, workers: number, valSize: number): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `model_name_or_path: ${JSON.stringify(model)}`, 'stage: pt', 'do_train: true', 'dataset: corpus', `dataset_dir: ${JSON.stringify(dataDir)}`,
      `output_dir: ${JSON.stringify(path.join(dir, 'out'))}`, `tokenized_path: ${JSON.stringify(cache)}`, 'overwrite_cache: true',
      `tokenizer_workers: ${workers}`, 'cutoff_len: 1024', `val_size: ${valSize}`,
    ].join('\n') + '\n',
  );
  return file;
}

interface RunResult {
  seconds: number;
  maxRssBytes: number;
  documents: number;
  tokens: number;
  docsPerSec: number;
  tokensPerSec: number;
  /** Main thread's peak V8 heap in use and array-buffer bytes (sampled every 200 ms). */
  peakHeapBytes: number;
  peakArrayBufferBytes: number;
  /** Rates of the tokenizing pass alone (prepare's own summary line), without start-up and counting. */
  tokenizePass: { docsPerSec: number; tokensPerSec: number } | null;
}

/** `ptflow prepare cfg` in a child process; its wall time and peak RSS (worker threads included). */
function runPrepare(cfg: string, cache: string): Promise<RunResult> {
  const main = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  // Peak RSS of the process (threads included), and the main thread's peak V8 heap / array buffers.
  const script =
    'const peak = { heap: 0, ab: 0 }; const probe = () => { const m = process.memoryUsage(); peak.heap = Math.max(peak.heap, m.heapUsed); peak.ab = Math.max(peak.ab, m.arrayBuffers); };' +
    'setInterval(probe, 200).unref();' +
    "process.on('exit', () => { probe(); process.stderr.write('\\nBENCH_MAXRSS_KB ' + process.resourceUsage().maxRSS + ' HEAP ' + peak.heap + ' AB ' + peak.ab + '\\n'); });" +
    `require(${JSON.stringify(main)}).main(['prepare', ${JSON.stringify(cfg)}]);`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.length > 1 << 20) err = err.slice(-(1 << 19));
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const m = /BENCH_MAXRSS_KB (\d+) HEAP (\d+) AB (\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`ptflow prepare exited ${code}:\n${err.slice(-4000)}`));
      const index = JSON.parse(readFileSync(path.join(cache, 'index.json'), 'utf8')) as { splits: Record<string, { documents: number; tokens: number }> };
      const documents = Object.values(index.splits).reduce((a, s) => a + s.documents, 0);
      const tokens = Object.values(index.splits).reduce((a, s) => a + s.tokens, 0);
      const pass = /tokenized at (\d+) docs\/s, (\d+) tokens\/s/.exec(err);
      const tokenizePass = pass ? { docsPerSec: Number(pass[1]), tokensPerSec: Number(pass[2]) } : null;
      resolve({ seconds, maxRssBytes: Number(m[1]) * 1024, peakHeapBytes: Number(m[2]), peakArrayBufferBytes: Number(m[3]), documents, tokens, docsPerSec: documents / seconds, tokensPerSec: tokens / seconds, tokenizePass });
    });
  });
}

function dataset(dir: string, mb: number): Promise<string> {
  const d = path.join(dir, `data-${mb}mb`);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ corpus: { file_name: 'corpus.jsonl.zst' } }));
  return writeCorpus(path.join(d, 'corpus.jsonl.zst'), mb).then(() => d);
}

const f1 = (n: number): string => n.toFixed(1);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  mkdirSync(a.dir, { recursive: true });
  const model = modelDir(a.dir, a.tokenizer);
  const report: Record<string, unknown> = { tokenizer: a.tokenizer, cores: os.availableParallelism(), val_size: a.valSize };
  const log = (s: string): void => {
    if (!a.json) process.stdout.write(s + '\n');
  };
  try {
    if (!a.skipThroughput) {
      const data = await dataset(a.dir, a.mb);
      const zst = statSync(path.join(data, 'corpus.jsonl.zst')).size;
      log(`prepare throughput: ${a.mb} MB of JSON lines (${mib(zst)} as .jsonl.zst), tokenizer ${a.tokenizer}, ${os.availableParallelism()} cores`);
      const runs: Record<string, RunResult> = {};
      for (const w of [1, 2]) {
        const cache = path.join(a.dir, `cache-w${w}`);
        runs[w] = await runPrepare(writeConfig(a.dir, `w${w}`, model, data, cache, w, a.valSize), cache);
        const r = runs[w];
        log(
          `  tokenizer_workers ${w}: whole command ${f1(r.seconds)} s, ${Math.round(r.docsPerSec)} docs/s, ${Math.round(r.tokensPerSec)} tokens/s, ` +
            `${f1(a.mb / r.seconds)} MB/s; tokenizing pass ${r.tokenizePass ? `${Math.round(r.tokenizePass.tokensPerSec)} tokens/s` : '?'}; peak RSS ${mib(r.maxRssBytes)}`,
        );
      }
      const ratio = runs[1].seconds / runs[2].seconds;
      const passRatio = runs[1].tokenizePass && runs[2].tokenizePass ? runs[2].tokenizePass.tokensPerSec / runs[1].tokenizePass.tokensPerSec : null;
      log(`  speed-up 2 vs 1 workers: whole command ${ratio.toFixed(2)}×, tokenizing pass ${passRatio === null ? '?' : passRatio.toFixed(2) + '×'} (target ≥ 1.3×)`);
      report.throughput = { mb: a.mb, zst_bytes: zst, workers1: runs[1], workers2: runs[2], ratio, tokenize_pass_ratio: passRatio };
    }
    if (!a.skipRss) {
      const results: { mb: number; run: RunResult }[] = [];
      for (const mb of a.rssMb) {
        const data = await dataset(a.dir, mb);
        const cache = path.join(a.dir, `cache-rss-${mb}`);
        const run = await runPrepare(writeConfig(a.dir, `rss-${mb}`, model, data, cache, a.rssWorkers, a.valSize), cache);
        results.push({ mb, run });
        log(
          `prepare peak RSS, ${mb} MB corpus: ${mib(run.maxRssBytes)} (main thread: heap ${mib(run.peakHeapBytes)}, array buffers ` +
            `${mib(run.peakArrayBufferBytes)}; ${run.documents} documents, ${run.tokens} tokens, ${f1(run.seconds)} s)`,
        );
        rmSync(cache, { recursive: true, force: true });
      }
      if (results.length >= 2) {
        const ratio = results[results.length - 1].run.maxRssBytes / results[0].run.maxRssBytes;
        log(`  peak RSS ratio ${results[results.length - 1].mb} MB / ${results[0].mb} MB corpus: ${ratio.toFixed(3)} (target within 10 %: ≤ 1.10)`);
        report.rss = { results: results.map((r) => ({ mb: r.mb, ...r.run })), ratio };
      }
    }
    if (a.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    if (!a.keep) rmSync(a.dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/prepare: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
