/**
 * `ptflow prepare` benchmark: the whole preparation path (read → zstd decompress → JSON → tokenize →
 * Arrow parts + index.json) through the real CLI in a child process, on a generated corpus of real text (the KJV demo chapters, repeated with variations).
 *
 *   1. throughput: tokenizer_workers 2 vs 1 on the same corpus (--mb), the ratio (target ≥ 1.3×), per
 *      corpus layout (--layouts: `sharded` 8 .jsonl.zst shards, `single` one plain .jsonl, `single-zst`
 *      one .jsonl.zst); --repeat N runs each N times and reports medians
 *   2. memory: peak RSS of prepare on two corpus sizes (--rss-mb, default 1024,4096 MB of JSON
 *      lines before compression), the ratio (target: within 10 %, i.e. memory does not grow with
 *      the corpus)
 *
 * `--val-size N` holds out N documents (a seeded shuffle: documents go through prepare's scratch file).
 *
 *   node dist/bench/prepare.js [--mb 16] [--layouts sharded,single] [--repeat 1] [--rss-mb 1024,4096] [--rss-workers 1] [--tokenizer llama3|tiny] [--val-size 0]
 *                              [--skip-throughput] [--skip-rss] [--dir DIR] [--keep] [--json]
 *
 * Needs the `zstd` command to write the corpus. Sizes are of the uncompressed JSON lines.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  layouts: Layout[];
  repeat: number;
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
      layouts: { type: 'string', default: 'sharded,single' },
      repeat: { type: 'string', default: '1' },
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
    layouts: (values.layouts as string).split(',').map((l) => {
      if (!(LAYOUTS as readonly string[]).includes(l)) throw usageError(`--layouts: expected some of ${LAYOUTS.join(', ')}, got "${l}"`);
      return l as Layout;
    }),
    repeat: Math.round(num('repeat', values.repeat as string)),
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

/** Write `lines` into `file`, through `zstd` when the name ends in .zst (skipped when it exists). */
async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  if (existsSync(file)) return;
  const tmp = `${file}.tmp`;
  let sink: NodeJS.WritableStream;
  let done: Promise<void>;
  if (file.endsWith('.zst')) {
    const z = spawn('zstd', ['-q', '-f', '-3', '-T0', '-o', tmp], { stdio: ['pipe', 'ignore', 'inherit'] });
    done = new Promise<void>((resolve, reject) => {
      z.on('error', (e) => reject(new Error(`cannot run zstd (needed to write the corpus): ${e.message}`)));
      z.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`))));
    });
    sink = z.stdin;
  } else {
    const w = createWriteStream(tmp);
    done = new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.on('close', () => resolve());
    });
    sink = w;
  }
  let chunk: string[] = [];
  let size = 0;
  for (const line of lines) {
    chunk.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      if (!sink.write(chunk.join(''))) await new Promise((r) => sink.once('drain', r));
      chunk = [];
      size = 0;
    }
  }
  sink.end(chunk.join(''));
  await done;
  renameSync(tmp, file);
}

/** The first `mb` MB of the corpus cut into `n` consecutive pieces of about equal size. */
function* piece(mb: number, n: number, k: number): Generator<string> {
  let bytes = 0;
  for (const line of corpusLines(mb * MB)) {
    const at = Math.min(n - 1, Math.floor((bytes * n) / (mb * MB)));
    bytes += Buffer.byteLength(line);
    if (at === k) yield line;
    else if (at > k) return;
  }
}

/**
 * Corpus layouts: `sharded` 8 `.jsonl.zst` shards (pool threads read a shard each), `single` one plain
 * `.jsonl` (pool threads read line-start byte ranges of it), `single-zst` one `.jsonl.zst` (only the
 * main thread can read it: the pool tokenizes only).
 */
type Layout = 'sharded' | 'single' | 'single-zst';
const LAYOUTS: readonly Layout[] = ['sharded', 'single', 'single-zst'];
const SHARDS = 8;

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
  /** CPU seconds of all threads, and of the main thread alone (null where /proc is not there). */
  cpuSeconds: number;
  mainCpuSeconds: number | null;
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
    // CPU seconds of the whole process (all threads) and of the main thread alone (Linux: /proc/self/task/<pid>/stat, clock ticks)
    "const mainCpu = () => { try { const f = require('fs').readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; } catch { return -1; } };" +
    "process.on('exit', () => { probe(); const u = process.cpuUsage(); process.stderr.write('\\nBENCH_MAXRSS_KB ' + process.resourceUsage().maxRSS + ' HEAP ' + peak.heap + ' AB ' + peak.ab + ' CPU ' + (u.user + u.system) / 1e6 + ' MAINCPU ' + mainCpu() + '\\n'); });" +
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
      const m = /BENCH_MAXRSS_KB (\d+) HEAP (\d+) AB (\d+) CPU ([\d.]+) MAINCPU ([-\d.]+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`ptflow prepare exited ${code}:\n${err.slice(-4000)}`));
      const index = JSON.parse(readFileSync(path.join(cache, 'index.json'), 'utf8')) as { splits: Record<string, { documents: number; tokens: number }> };
      const documents = Object.values(index.splits).reduce((a, s) => a + s.documents, 0);
      const tokens = Object.values(index.splits).reduce((a, s) => a + s.tokens, 0);
      const pass = /tokenized at (\d+) docs\/s, (\d+) tokens\/s/.exec(err);
      const tokenizePass = pass ? { docsPerSec: Number(pass[1]), tokensPerSec: Number(pass[2]) } : null;
      resolve({ seconds, maxRssBytes: Number(m[1]) * 1024, peakHeapBytes: Number(m[2]), peakArrayBufferBytes: Number(m[3]), cpuSeconds: Number(m[4]), mainCpuSeconds: Number(m[5]) < 0 ? null : Number(m[5]), documents, tokens, docsPerSec: documents / seconds, tokensPerSec: tokens / seconds, tokenizePass });
    });
  });
}

async function dataset(dir: string, mb: number, layout: Layout = 'single-zst'): Promise<string> {
  const d = path.join(dir, `data-${mb}mb-${layout}`);
  mkdirSync(d, { recursive: true });
  let files: string[];
  if (layout === 'sharded') {
    files = Array.from({ length: SHARDS }, (_, k) => `corpus-${String(k).padStart(5, '0')}.jsonl.zst`);
    for (let k = 0; k < SHARDS; k++) await writeLines(path.join(d, files[k]), piece(mb, SHARDS, k));
  } else {
    files = [layout === 'single' ? 'corpus.jsonl' : 'corpus.jsonl.zst'];
    await writeLines(path.join(d, files[0]), corpusLines(mb * MB));
  }
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ corpus: { file_name: files.length === 1 ? files[0] : 'corpus-*.jsonl.zst' } }));
  return d;
}

const f1 = (n: number): string => n.toFixed(1);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
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
      const throughput: Record<string, unknown> = {};
      for (const layout of a.layouts) {
        const data = await dataset(a.dir, a.mb, layout);
        const onDisk = readdirSync(data).filter((f) => f.startsWith('corpus')).reduce((n, f) => n + statSync(path.join(data, f)).size, 0);
        log(
          `prepare throughput, ${layout} (${layout === 'sharded' ? `${SHARDS} .jsonl.zst shards` : layout === 'single' ? 'one plain .jsonl' : 'one .jsonl.zst'}): ` +
            `${a.mb} MB of JSON lines (${mib(onDisk)} on disk), tokenizer ${a.tokenizer}, ${os.availableParallelism()} cores, ${a.repeat} run(s) each, medians`,
        );
        const runs: Record<number, RunResult[]> = { 1: [], 2: [] };
        for (let rep = 0; rep < a.repeat; rep++) {
          for (const w of [1, 2]) {
            const cache = path.join(a.dir, `cache-${layout}-w${w}`);
            const r = await runPrepare(writeConfig(a.dir, `${layout}-w${w}`, model, data, cache, w, a.valSize), cache);
            runs[w].push(r);
            log(
              `  tokenizer_workers ${w}: whole command ${f1(r.seconds)} s, ${Math.round(r.docsPerSec)} docs/s, ${Math.round(r.tokensPerSec)} tokens/s, ` +
                `${f1(a.mb / r.seconds)} MB/s; tokenizing pass ${r.tokenizePass ? `${Math.round(r.tokenizePass.tokensPerSec)} tokens/s` : '?'}; peak RSS ${mib(r.maxRssBytes)}; ` +
                `CPU ${f1(r.cpuSeconds)} s (main thread ${r.mainCpuSeconds === null ? '?' : f1(r.mainCpuSeconds)} s)`,
            );
          }
        }
        const med = (w: number): number => median(runs[w].map((r) => r.seconds));
        const ratio = med(1) / med(2);
        const passes = (w: number): number[] => runs[w].flatMap((r) => (r.tokenizePass ? [r.tokenizePass.tokensPerSec] : []));
        const passRatio = passes(1).length && passes(2).length ? median(passes(2)) / median(passes(1)) : null;
        log(
          `  speed-up 2 vs 1 workers (${layout}): whole command ${ratio.toFixed(2)}× (median ${f1(med(1))} s → ${f1(med(2))} s), ` +
            `tokenizing pass ${passRatio === null ? '?' : passRatio.toFixed(2) + '×'} (target ≥ 1.3×)`,
        );
        // What 2 idle cores would allow: the main thread's CPU time, or all threads' CPU time shared by 2 cores.
        const cpu = (w: number, k: 'cpuSeconds' | 'mainCpuSeconds'): number => median(runs[w].map((r) => r[k] ?? NaN));
        const bound = Math.max(cpu(2, 'mainCpuSeconds'), cpu(2, 'cpuSeconds') / 2);
        const cpuRatio = Number.isFinite(bound) ? cpu(1, 'cpuSeconds') / bound : null;
        if (cpuRatio !== null) {
          log(
            `  CPU: 1 worker ${f1(cpu(1, 'cpuSeconds'))} s; 2 workers ${f1(cpu(2, 'cpuSeconds'))} s of which main thread ${f1(cpu(2, 'mainCpuSeconds'))} s → ` +
              `on 2 idle cores at best ${cpuRatio.toFixed(2)}× (load average now ${os.loadavg()[0].toFixed(1)})`,
          );
        }
        throughput[layout] = { mb: a.mb, cpu_bound_ratio: cpuRatio, disk_bytes: onDisk, workers1: runs[1], workers2: runs[2], ratio, tokenize_pass_ratio: passRatio };
      }
      report.throughput = throughput;
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
