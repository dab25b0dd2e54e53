/**
 * `workers:` benchmark: one document filter run as one instance and as `--workers` instances,
 * interleaved in one run, through the real actors — DatasetShardActor → filter → sink
 * (bench/actors/doc-sink.ts), no tokenizer, so that the filter is the pipeline's only busy stage.
 * The filter is the built-in `gopher_quality` (`--filter gopher_quality`, the default) or a
 * CPU-heavy one that hashes every document `--rounds` times (`--filter heavy`). Prints each
 * configuration's steady-state input documents per second (after the first `--warmup` fraction of
 * the documents, while the threads' code is compiled), its ratio to one instance, and checks that
 * both configurations let the same number of documents through. It also prints the CPU time per
 * document of the busiest thread and its ratio: the speed-up the instances give where the pipeline
 * has the cores to itself. On a machine busy with other work the wall-clock ratio says less, since
 * the scheduler shares the cores between sessions, not threads (Linux autogroup).
 *
 *   node dist/bench/step-workers.js [--filter gopher_quality|heavy] [--workers 2] [--copies 16] [--rounds 60] [--reps 3] [--json]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ShardParams } from '../actors/DatasetShardActor';
import { resolvePipeline } from '../src/actors/resolve';
import { resolveDatasets } from '../src/data/registry';
import { packageRoot } from '../src/pipeline/compiled';
import { actorNode, connect, declareActor } from '../src/pipeline/declare';
import type { PipelineGraph } from '../src/pipeline/graph';
import { insertSteps } from '../src/pipeline/insert-steps';
import { startPipeline } from '../src/pipeline/supervisor';
import { TelemetryBus } from '../src/telemetry/bus';
import { DatasetShardActor } from '../src/workflow/default-graph';
import type { SteadyResult } from './actors/steady';
import type { SinkParams } from './actors/token-sink';
import { median } from './util/stats';

const Sink = declareActor<SinkParams>({ name: 'Sink', module: 'bench/actors/doc-sink', inputs: { docs: 'docs' }, outputs: {}, maxRestarts: 0 });

/** The filter: FNV-1a over the text `rounds` times (pure CPU), keeps every document. */
const HEAVY = `const { defineFilter, z } = require('ptflow');
module.exports = { default: defineFilter({
  name: 'heavy',
  options: z.object({ rounds: z.number().int() }),
  init: (o) => o.rounds,
  keep: (text, _doc, rounds) => {
    let h = 0x811c9dc5;
    for (let r = 0; r < rounds; r++) for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h !== 0.5;
  },
}) };
`;

interface Run {
  filter: string;
  workers: number;
  rounds: number;
  perBatch: number;
  inputDocs: number;
  warmupDocs: number;
}

interface RunResult {
  docsPerSec: number;
  docs: number;
  /** CPU ms per 1000 input documents of the busiest thread, and of all threads (null without /proc). */
  busiestMsPer1k: number | null;
  totalMsPer1k: number | null;
}

async function runOnce(dir: string, dataDir: string, run: Run): Promise<RunResult> {
  const steps = [
    run.filter === 'heavy'
      ? { actor: './heavy.cjs', after: 'DatasetShardActor', workers: run.workers, exclusion_dir: null, options: { rounds: run.rounds } }
      : { actor: run.filter, after: 'DatasetShardActor', workers: run.workers, exclusion_dir: null },
  ];
  const resolved = resolvePipeline(steps, path.join(dir, 'bench.yaml'), () => 'bench');
  const shardParams: ShardParams = {
    train: resolveDatasets(dataDir, ['corpus']), eval: [], max_samples: null, mix_strategy: 'concat', interleave_probs: null,
    val_size: 0, seed: 1, do_train: true, docs_per_batch: run.perBatch,
  };
  const shard = actorNode(DatasetShardActor, shardParams);
  const sink = actorNode(Sink, { warmup_docs: run.warmupDocs });
  const budget = 256 * 1024 * 1024;
  const base: PipelineGraph = { actors: [shard, sink], edges: [connect(shard, 'docs', sink, 'docs', 4, budget)] };
  const results = await startPipeline(insertSteps(base, resolved), { bus: new TelemetryBus('bench'), finishers: ['Sink'] }).done;
  const r = results.get('Sink') as SteadyResult;
  // Input documents behind the window's output (drops are spread evenly: the corpus is copies of one text).
  const input = (outDocs: number): number => outDocs * (run.inputDocs / r.docs);
  const per1k = (ms: number | undefined): number | null => (ms === undefined || !r.sampled_docs ? null : ms / (input(r.sampled_docs) / 1000));
  return {
    docsPerSec: input(r.steady_docs) / (r.steady_ms / 1000), docs: r.docs,
    busiestMsPer1k: per1k(r.busiest_thread_cpu_ms), totalMsPer1k: per1k(r.threads_cpu_ms),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      filter: { type: 'string', default: 'gopher_quality' }, workers: { type: 'string', default: '2' }, copies: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '60' }, warmup: { type: 'string', default: '0.25' }, reps: { type: 'string', default: '3' },
      batch: { type: 'string', default: '16' }, json: { type: 'boolean', default: false },
    },
  });
  const filter = values.filter!;
  const workers = Number(values.workers);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-bench-workers-'));
  writeFileSync(path.join(dir, 'heavy.cjs'), HEAVY);
  const texts = readFileSync(path.join(packageRoot(), 'examples/data/kjv_demo.jsonl'), 'utf8').trim().split('\n');
  const lines: string[] = [];
  for (let c = 0; c < Number(values.copies); c++) lines.push(...texts);
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'corpus.jsonl'), lines.join('\n') + '\n');
  writeFileSync(path.join(dataDir, 'dataset_info.json'), JSON.stringify({ corpus: { file_name: 'corpus.jsonl', columns: { prompt: 'text' } } }));
  const docs = lines.length;
  const run = (w: number): Run => ({
    filter, workers: w, rounds: Number(values.rounds), perBatch: Number(values.batch), inputDocs: docs, warmupDocs: Math.round(Number(values.warmup) * docs),
  });

  const configs = [1, workers];
  const rates: number[][] = configs.map(() => []);
  const busiest: number[][] = configs.map(() => []);
  const total: number[][] = configs.map(() => []);
  const passed: number[] = [];
  await runOnce(dir, dataDir, run(1)); // warm-up: file cache, compiled modules
  for (let r = 0; r < Number(values.reps); r++) {
    for (let k = 0; k < configs.length; k++) {
      const res = await runOnce(dir, dataDir, run(configs[k]));
      passed.push(res.docs);
      if (res.docs !== passed[0]) throw new Error(`workers ${configs[k]}: ${res.docs} documents passed the filter, ${passed[0]} with workers 1`);
      rates[k].push(res.docsPerSec);
      if (res.busiestMsPer1k !== null && res.totalMsPer1k !== null) {
        busiest[k].push(res.busiestMsPer1k);
        total[k].push(res.totalMsPer1k);
      }
    }
  }
  const base = median(rates[0]);
  const busiestBase = busiest[0].length > 0 ? median(busiest[0]) : null;
  const rows = configs.map((w, k) => ({
    workers: w, docs_per_s: Math.round(median(rates[k])), ratio: median(rates[k]) / base, runs: rates[k].map(Math.round),
    // The busiest thread's CPU per document bounds the throughput on an otherwise idle machine.
    busiest_thread_ms_per_1k: busiest[k].length > 0 ? Math.round(median(busiest[k])) : null,
    all_threads_ms_per_1k: total[k].length > 0 ? Math.round(median(total[k])) : null,
    busiest_thread_ratio: busiestBase !== null && busiest[k].length > 0 ? busiestBase / median(busiest[k]) : null,
  }));
  if (values.json) {
    process.stdout.write(JSON.stringify({ filter, docs, kept: passed[0], cores: os.availableParallelism(), loadavg: os.loadavg()[0], rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `${filter === 'heavy' ? `CPU-heavy filter (${values.rounds} hash rounds per document)` : filter}, documents → filter → sink: ${docs} documents ` +
      `(${passed[0]} kept) in batches of ${values.batch}, ` +
      `${os.availableParallelism()} cores (load average ${os.loadavg()[0].toFixed(1)}), steady-state input docs/s, median of ${values.reps}\n`,
  );
  for (const r of rows) {
    const cpu = r.busiest_thread_ratio === null ? '' :
      `  busiest thread ${r.busiest_thread_ms_per_1k} ms CPU/1k docs, ratio ${r.busiest_thread_ratio.toFixed(3)} (all threads ${r.all_threads_ms_per_1k})`;
    process.stdout.write(`  workers: ${r.workers}  ${String(r.docs_per_s).padStart(7)} docs/s  ratio ${r.ratio.toFixed(3)}  (runs ${r.runs.join(', ')})${cpu}\n`);
  }
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
