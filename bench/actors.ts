/**
 * Pipeline-step benchmark: documents → tokenized documents through the real actors (worker threads,
 * flow control) — DatasetShardActor → [steps] → TokenizerActor → sink — with no step, with the
 * built-in `identity`, and with `gopher_quality` + `exact_dedup`, interleaved in one run. Prints each
 * configuration's input documents per second and its ratio to the no-step baseline (targets: identity
 * ≥ 0.95, gopher_quality + exact_dedup ≥ 0.8 on a 2-core machine), and the CPU time of the same steady
 * span (every thread of this process: the actors' workers and the tokenizer pool) per document, as a
 * ratio too: on a machine busy with other work the throughput ratio tends to that CPU ratio.
 *
 * The corpus is the KJV demo repeated `--copies` times, each copy tagged with a different word so
 * that exact_dedup keeps every document (all of them reach the tokenizer in every configuration).
 * Every configuration starts fresh worker threads, whose code V8 compiles while the first batches go
 * through; the steady state is measured after the first `--warmup` fraction of the documents (0:
 * from the second batch on), the same for every configuration.
 *
 *   node dist/bench/actors.js [--copies 128] [--batch 256] [--warmup 0.25] [--reps 5] [--only NAME] [--json]
 *
 * `--batch N`: documents per batch from the reader; by default DOCS_PER_BATCH (256), what `ptflow
 * train` sends in map mode. Streaming also ends a batch at 128 Ki characters, about 32 of these
 * 4 KB documents (`--batch 32`), where what a step costs per batch (its messages, decoding the
 * batch, waking its thread) weighs 8 times as much per document.
 *
 * `--only NAME` runs one configuration (and the no-step baseline its ratio needs), e.g. under
 * `node --cpu-prof` to see where a configuration's threads spend their time.
 *
 * 128 copies (20 480 documents, 80 batches of 256, a few seconds a run): with 16 copies, the measured
 * span was under a second on the 2-core machine and single runs of the same configuration spread by
 * ±20 % (a collection pause or a thread scheduled late weighs on so short a span).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TokenizerParams } from '../actors/TokenizerActor';
import type { ShardParams } from '../actors/DatasetShardActor';
import { DOCS_PER_BATCH } from '../schemas/raw-docs';
import { resolvePipeline } from '../src/actors/resolve';
import type { PipelineStepConfig } from '../src/config/schema-pipeline';
import { resolveDatasets } from '../src/data/registry';
import { packageRoot } from '../src/pipeline/compiled';
import { actorNode, connect, declareActor } from '../src/pipeline/declare';
import type { PipelineGraph } from '../src/pipeline/graph';
import { insertSteps } from '../src/pipeline/insert-steps';
import { startPipeline } from '../src/pipeline/supervisor';
import { TelemetryBus } from '../src/telemetry/bus';
import { DatasetShardActor, TokenizerActor } from '../src/workflow/default-graph';
import type { SteadyResult } from './actors/steady';
import type { SinkParams } from './actors/token-sink';
import { median } from './util/stats';

const Sink = declareActor<SinkParams>({ name: 'Sink', module: 'bench/actors/token-sink', inputs: { tokens: 'tokens' }, outputs: {}, maxRestarts: 0 });

const step = (actor: string, after: string): PipelineStepConfig => ({ actor, after, workers: 1, exclusion_dir: null });
const CONFIGS: Record<string, PipelineStepConfig[]> = {
  none: [],
  identity: [step('identity', 'DatasetShardActor')],
  'gopher_quality+exact_dedup': [step('gopher_quality', 'DatasetShardActor'), step('exact_dedup', 'gopher_quality')],
};

function tag(i: number): string {
  let s = '';
  for (let n = i; ; n = Math.floor(n / 26) - 1) {
    s = String.fromCharCode(97 + (n % 26)) + s;
    if (n < 26) break;
  }
  return s;
}

function makeCorpus(dir: string, copies: number): { dataDir: string; docs: number } {
  const root = packageRoot();
  const texts = readFileSync(path.join(root, 'examples/data/kjv_demo.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
  const lines: string[] = [];
  for (let c = 0; c < copies; c++) for (const t of texts) lines.push(JSON.stringify({ text: `Copy ${tag(c)}. ${t}` }));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'corpus.jsonl'), lines.join('\n') + '\n');
  writeFileSync(path.join(dataDir, 'dataset_info.json'), JSON.stringify({ corpus: { file_name: 'corpus.jsonl', columns: { prompt: 'text' } } }));
  return { dataDir, docs: lines.length };
}

interface RunResult {
  /** Input documents per second in the steady state (see actors/token-sink.ts). */
  docsPerSec: number;
  /** Documents that reached the tokenizer's output. */
  docs: number;
  /** CPU milliseconds of this process (all threads) per 1000 input documents in the steady state. */
  cpuMsPer1k: number;
}

async function runOnce(dir: string, dataDir: string, steps: PipelineStepConfig[], docsPerBatch: number, inputDocs: number, warmupDocs: number): Promise<RunResult> {
  const resolved = resolvePipeline(steps, path.join(dir, 'bench.yaml'), () => 'bench');
  const shardParams: ShardParams = {
    train: resolveDatasets(dataDir, ['corpus']), eval: [], max_samples: null, mix_strategy: 'concat', interleave_probs: null,
    val_size: 0, seed: 1, do_train: true, docs_per_batch: docsPerBatch,
  };
  const tokParams: TokenizerParams = { tokenizer_dir: path.join(packageRoot(), 'examples/tiny-llama'), workers: null, packing: true, cutoff_len: 1024 };
  const shard = actorNode(DatasetShardActor, shardParams);
  const tok = actorNode(TokenizerActor, tokParams);
  const sink = actorNode(Sink, { warmup_docs: warmupDocs });
  const budget = 256 * 1024 * 1024;
  const base: PipelineGraph = { actors: [shard, tok, sink], edges: [connect(shard, 'docs', tok, 'docs', 4, budget), connect(tok, 'tokens', sink, 'tokens', 4, budget)] };
  const graph = insertSteps(base, resolved);
  const results = await startPipeline(graph, { bus: new TelemetryBus('bench'), finishers: ['Sink'] }).done;
  const r = results.get('Sink') as SteadyResult;
  // Input documents behind the steady-state output (a filter's drops count as work done; they are
  // spread evenly, the corpus being copies of one text).
  const steadyInput = r.steady_docs * (inputDocs / r.docs);
  return { docsPerSec: steadyInput / (r.steady_ms / 1000), docs: r.docs, cpuMsPer1k: r.steady_cpu_ms / (steadyInput / 1000) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      copies: { type: 'string', default: '128' }, warmup: { type: 'string', default: '0.25' }, reps: { type: 'string', default: '5' },
      batch: { type: 'string', default: String(DOCS_PER_BATCH) }, only: { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  if (values.only !== undefined && !(values.only in CONFIGS)) throw new Error(`--only: no configuration '${values.only}'; there are ${Object.keys(CONFIGS).join(', ')}`);
  const configs = Object.entries(CONFIGS).filter(([name]) => values.only === undefined || name === values.only || name === 'none');
  const copies = Number(values.copies);
  const reps = Number(values.reps);
  const perBatch = Number(values.batch);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-bench-actors-'));
  const { dataDir, docs } = makeCorpus(dir, copies);
  const warmupDocs = Math.round(Number(values.warmup) * docs);
  const rates: Record<string, number[]> = Object.fromEntries(configs.map(([k]) => [k, []]));
  const cpus: Record<string, number[]> = Object.fromEntries(configs.map(([k]) => [k, []]));
  const kept: Record<string, number> = {};
  await runOnce(dir, dataDir, [], perBatch, docs, warmupDocs); // warm-up: file cache, compiled modules
  for (let r = 0; r < reps; r++) {
    for (const [name, steps] of configs) {
      const res = await runOnce(dir, dataDir, steps, perBatch, docs, warmupDocs);
      if (steps.length === 0 || name === 'identity') {
        if (res.docs !== docs) throw new Error(`${name}: ${res.docs} of ${docs} documents reached the tokenizer`);
      }
      kept[name] = res.docs;
      rates[name].push(res.docsPerSec);
      cpus[name].push(res.cpuMsPer1k);
    }
  }
  const base = median(rates.none);
  const cpuBase = median(cpus.none);
  const rows = Object.entries(rates).map(([name, rs]) => ({
    name, docs_per_s: Math.round(median(rs)), ratio: median(rs) / base, kept: kept[name], runs: rs.map(Math.round),
    cpu_ms_per_1k_docs: Math.round(median(cpus[name])), cpu_ratio: cpuBase / median(cpus[name]),
  }));
  if (values.json) {
    process.stdout.write(JSON.stringify({ docs, warmup_docs: warmupDocs, cores: os.availableParallelism(), loadavg: os.loadavg()[0], rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `documents → tokenized documents: ${docs} documents (${copies} copies of the KJV demo) in batches of ${perBatch}, ` +
      `${os.availableParallelism()} cores (load average ${os.loadavg()[0].toFixed(1)}), steady-state input docs/s after the first ${warmupDocs}, median of ${reps}\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `  ${r.name.padEnd(28)} ${String(r.docs_per_s).padStart(7)} docs/s  ratio ${r.ratio.toFixed(3)}  (kept ${r.kept}; runs ${r.runs.join(', ')})  ` +
        `CPU ${r.cpu_ms_per_1k_docs} ms/1k docs, ratio ${r.cpu_ratio.toFixed(3)}\n`,
    );
  }
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
