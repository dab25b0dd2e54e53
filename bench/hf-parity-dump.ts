/**
 * The Node half of the Hugging Face parity check (tools/hf-parity/): loads a saved model directory
 * with ptflow's engine, tokenizes a few texts into one right-padded batch (labels −100 on padding),
 * computes ptflow's causal-LM loss (Σ token losses / counted tokens, HF's mean) and writes JSON that
 * tools/hf-parity/check.py recomputes with transformers (or plain PyTorch).
 *
 *   node dist/bench/hf-parity-dump.js <model_dir> [--out batch.json] [--backend auto|wasm|cpu|tensorflow]
 *                                     [--padding right|left] [--text "..."]...
 *
 * Right padding (the default) cannot show a padding-mask error: causality already hides trailing pads
 * from real tokens. `--padding left` puts the pads first, so real tokens must be kept from attending to
 * them; the first real token of a padded row also gets label −100 there, because the pad before it
 * (a query that may attend to nothing) is not a position any two implementations define alike.
 *
 * Without `--text`, two texts of different lengths are used. The first token of each row is the BOS
 * token when the tokenizer adds one (as `ptflow train` does for documents).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../src/errors';
import { initBackend, shutdownBackend, type BackendRequest } from '../src/engine/backend';
import { countLossTokens, type MicroBatch } from '../src/engine/batch';
import { loadHfModelDir } from '../src/engine/io/hf-model-dir';
import { LlamaModel } from '../src/engine/model/llama';
import { loadTokenizer } from '../src/data/tokenizer';
import { readModelConfig } from '../src/train/model-setup';

const DEFAULT_TEXTS = [
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; ' +
    'and darkness was upon the face of the deep.',
  'And God said, Let there be light: and there was light.',
];

/** Vocabulary columns sampled at every sampled position, besides the position's target. */
const SAMPLE_VOCAB = [0, 1, 2, 13, 100, 1000, 5000, 31999];

interface DumpArgs {
  modelDir: string;
  out: string;
  backend: BackendRequest;
  padding: 'right' | 'left';
  texts: string[];
}

export interface LogitsSample {
  row: number;
  pos: number;
  vocab_ids: number[];
  values: number[];
  /** log Σ_v exp(logit_v) over the whole vocabulary (a summary of every column). */
  logsumexp: number;
}

export interface ParityDump {
  model_dir: string;
  backend: string;
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  loss: number;
  loss_sum: number;
  loss_tokens: number;
  logits_sample: LogitsSample[];
}

function parseArgs(argv: string[]): DumpArgs {
  let modelDir: string | undefined;
  let out = 'hf-parity-batch.json';
  let backend: BackendRequest = 'auto';
  let padding: 'right' | 'left' = 'right';
  const texts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new PtflowError(`hf-parity-dump: ${a} needs a value`, 2);
      return v;
    };
    if (a === '--out') out = value();
    else if (a === '--backend') backend = value() as BackendRequest;
    else if (a === '--text') texts.push(value());
    else if (a === '--padding') {
      const v = value();
      if (v !== 'right' && v !== 'left') throw new PtflowError(`hf-parity-dump: --padding ${v}: expected right or left`, 2);
      padding = v;
    }
    else if (a.startsWith('--')) throw new PtflowError(`hf-parity-dump: unknown option ${a}`, 2);
    else if (modelDir === undefined) modelDir = a;
    else throw new PtflowError(`hf-parity-dump: unexpected argument ${a}`, 2);
  }
  if (modelDir === undefined) throw new PtflowError('usage: hf-parity-dump <model_dir> [--out f.json] [--backend b] [--text t]...', 2);
  return { modelDir, out, backend, padding, texts: texts.length > 0 ? texts : DEFAULT_TEXTS };
}

/**
 * Padded batch: pads get `padId`, attention 0 and label −100; labels are the input ids elsewhere,
 * except the first real token of a left-padded row (−100, see the module comment).
 */
export function paddedBatch(rows: Int32Array[], padId: number, side: 'right' | 'left' = 'right'): MicroBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(-100);
  const attentionMask = new Int32Array(B * T);
  rows.forEach((r, b) => {
    const start = b * T + (side === 'left' ? T - r.length : 0);
    inputIds.set(r, start);
    labels.set(r, start);
    attentionMask.fill(1, start, start + r.length);
    if (side === 'left' && r.length < T) labels[start] = -100;
  });
  return { batchSize: B, seqLen: T, inputIds, labels, attentionMask };
}

function rowsOf(a: Int32Array, B: number, T: number): number[][] {
  return Array.from({ length: B }, (_, b) => Array.from(a.subarray(b * T, (b + 1) * T)));
}

/** Logits at every real position of every row: a few columns, the target's, and the log-sum-exp. */
function sampleLogits(logits: Float32Array, batch: MicroBatch, vocab: number): LogitsSample[] {
  const out: LogitsSample[] = [];
  const T = batch.seqLen;
  for (let b = 0; b < batch.batchSize; b++) {
    for (let pos = 0; pos < T; pos++) {
      if (batch.attentionMask[b * T + pos] !== 1) continue;
      const target = pos + 1 < T && batch.attentionMask[b * T + pos + 1] === 1 ? batch.inputIds[b * T + pos + 1] : undefined;
      const ids = [...new Set([...SAMPLE_VOCAB.filter((v) => v < vocab), ...(target !== undefined ? [target] : [])])];
      const base = (b * T + pos) * vocab;
      out.push({ row: b, pos, vocab_ids: ids, values: ids.map((v) => logits[base + v]), logsumexp: logSumExp(logits, base, vocab) });
    }
  }
  return out;
}

function logSumExp(a: Float32Array, start: number, n: number): number {
  let m = -Infinity;
  for (let i = start; i < start + n; i++) m = Math.max(m, a[i]);
  let s = 0;
  for (let i = start; i < start + n; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await initBackend(args.backend);
  const cfg = await readModelConfig(args.modelDir);
  const { weights, weightsFile } = await loadHfModelDir(args.modelDir);
  const model = LlamaModel.fromWeights(
    cfg,
    new Map([...weights].map(([k, v]) => [k, { shape: [...v.shape], data: v.data }])),
    weightsFile,
  );
  const tok = loadTokenizer(args.modelDir);
  const rows = args.texts.map((t) => {
    const ids = tok.encode(t);
    if (!tok.addBosToken || tok.bosId === undefined) return ids;
    const withBos = new Int32Array(ids.length + 1);
    withBos[0] = tok.bosId;
    withBos.set(ids, 1);
    return withBos;
  });
  const batch = paddedBatch(rows, tok.padId, args.padding);
  const lossSum = tf.tidy(() => model.lossSum(batch).dataSync()[0]);
  const tokens = countLossTokens(batch);
  const logitsT = model.forward(batch);
  const logits = logitsT.dataSync() as Float32Array;
  logitsT.dispose();

  const dump: ParityDump = {
    model_dir: path.resolve(args.modelDir),
    backend: info.name,
    texts: args.texts,
    input_ids: rowsOf(batch.inputIds, batch.batchSize, batch.seqLen),
    attention_mask: rowsOf(batch.attentionMask, batch.batchSize, batch.seqLen),
    labels: rowsOf(batch.labels, batch.batchSize, batch.seqLen),
    loss: lossSum / tokens,
    loss_sum: lossSum,
    loss_tokens: tokens,
    logits_sample: sampleLogits(logits, batch, cfg.vocabSize),
  };
  await fsp.writeFile(args.out, JSON.stringify(dump, null, 1) + '\n');
  process.stdout.write(
    `backend ${info.name}; ${args.padding}-padded batch ${batch.batchSize}×${batch.seqLen}, row lengths ${rows.map((r) => r.length).join(', ')}; ` +
      `loss ${dump.loss.toFixed(7)} over ${tokens} tokens → ${args.out}\n`,
  );
  model.dispose();
  await shutdownBackend();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof PtflowError ? e.exitCode : 1;
  });
}
