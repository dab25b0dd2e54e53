/**
 * `workers:` benchmark: a CPU-heavy document filter (every document hashed `--rounds` times, all kept)
 * run as one instance and as `--workers` instances, interleaved in one run, through the real actors —
 * DatasetShardActor → filter → TokenizerActor → sink (bench/actors/token-sink.ts). Prints each
 * configuration's steady-state input documents per second, its ratio to one instance, and checks
 * that every document reached the tokenizer in the same number.
 *
 *   node dist/bench/step-workers.js [--workers 2] [--copies 4] [--rounds 60] [--reps 3] [--json]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ShardParams } from '../actors/DatasetShardActor';
import type { TokenizerParams } from '../actors/TokenizerActor';
import { resolvePipeline } from '../src/actors/resolve';
import { resolveDatasets } from '../src/data/registry';
import { packageRoot } from '../src/pipeline/compiled';
import { actorNode, connect, declareActor } from '../src/pipeline/declare';
import type { PipelineGraph } from '../src/pipeline/graph';
import { insertSteps } from '../src/pipeline/insert-steps';
import { startPipeline } from '../src/pipeline/supervisor';
import { TelemetryBus } from '../src/telemetry/bus';
import { DatasetShardActor, TokenizerActor } from '../src/workflow/default-graph';
import { median } from './util/stats';

const Sink = declareActor<Record<string, never>>({ name: 'Sink', module: 'bench/actors/token-sink', inputs: { tokens: 'tokens' }, outputs: {}, maxRestarts: 0 });

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

async function runOnce(dir: string, dataDir: string, workers: number, rounds: number, perBatch: number, inputDocs: number): Promise<{ docsPerSec: number; docs: number }> {
  const steps = [{ actor: './heavy.cjs', after: 'DatasetShardActor', workers, exclusion_dir: null, options: { rounds } }];
  const resolved = resolvePipeline(steps, path.join(dir, 'bench.yaml'), () => 'bench');
  const shardParams: ShardParams = {
    train: resolveDatasets(dataDir, ['corpus']), eval: [], max_samples: null, mix_strategy: 'concat', interleave_probs: null,
    val_size: 0, seed: 1, do_train: true, docs_per_batch: perBatch,
  };
  const tokParams: TokenizerParams = { tokenizer_dir: path.join(packageRoot(), 'examples/tiny-llama'), workers: 1, packing: true, cutoff_len: 1024 };
  const shard = actorNode(DatasetShardActor, shardParams);
  const tok = actorNode(TokenizerActor, tokParams);
  const sink = actorNode(Sink, {});
  const budget = 256 * 1024 * 1024;
  const base: PipelineGraph = { actors: [shard, tok, sink], edges: [connect(shard, 'docs', tok, 'docs', 4, budget), connect(tok, 'tokens', sink, 'tokens', 4, budget)] };
  const results = await startPipeline(insertSteps(base, resolved), { bus: new TelemetryBus('bench'), finishers: ['Sink'] }).done;
  const r = results.get('Sink') as { docs: number; steady_ms: number };
  return { docsPerSec: (inputDocs - perBatch) / (r.steady_ms / 1000), docs: r.docs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' }, copies: { type: 'string', default: '4' }, rounds: { type: 'string', default: '60' },
      reps: { type: 'string', default: '3' }, batch: { type: 'string', default: '16' }, json: { type: 'boolean', default: false },
    },
  });
  const workers = Number(values.workers);
  const rounds = Number(values.rounds);
  const perBatch = Number(values.batch);
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

  const configs = [1, workers];
  const rates: number[][] = configs.map(() => []);
  await runOnce(dir, dataDir, 1, rounds, perBatch, docs); // warm-up
  for (let r = 0; r < Number(values.reps); r++) {
    for (let k = 0; k < configs.length; k++) {
      const res = await runOnce(dir, dataDir, configs[k], rounds, perBatch, docs);
      if (res.docs !== docs) throw new Error(`workers ${configs[k]}: ${res.docs} of ${docs} documents reached the tokenizer`);
      rates[k].push(res.docsPerSec);
    }
  }
  const base = median(rates[0]);
  const rows = configs.map((w, k) => ({ workers: w, docs_per_s: Math.round(median(rates[k])), ratio: median(rates[k]) / base, runs: rates[k].map(Math.round) }));
  if (values.json) {
    process.stdout.write(JSON.stringify({ docs, cores: os.availableParallelism(), loadavg: os.loadavg()[0], rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `CPU-heavy filter (${rounds} hash rounds per document), ${docs} documents in batches of ${perBatch}, ` +
      `${os.availableParallelism()} cores (load average ${os.loadavg()[0].toFixed(1)}), steady-state input docs/s, median of ${values.reps}\n`,
  );
  for (const r of rows) process.stdout.write(`  workers: ${r.workers}  ${String(r.docs_per_s).padStart(7)} docs/s  ratio ${r.ratio.toFixed(3)}  (runs ${r.runs.join(', ')})\n`);
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
