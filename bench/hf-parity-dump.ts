/**
 * The Node half of the Hugging Face parity check (tools/hf-parity/): loads a saved model directory
 * with ptflow's engine, tokenizes a few texts into one right-padded batch (labels −100 on padding),
 * computes ptflow's causal-LM loss (Σ token losses / counted tokens, HF's mean) and writes JSON that
 * tools/hf-parity/check.py recomputes with transformers (or plain PyTorch).
 *
 *   node dist/bench/hf-parity-dump.js <model_dir> [--out batch.json] [--backend auto|wasm|cpu|tensorflow]
 *                                     [--text "..."]...
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
    else if (a.startsWith('--')) throw new PtflowError(`hf-parity-dump: unknown option ${a}`, 2);
    else if (modelDir === undefined) modelDir = a;
    else throw new PtflowError(`hf-parity-dump: unexpected argument ${a}`, 2);
  }
  if (modelDir === undefined) throw new PtflowError('usage: hf-parity-dump <model_dir> [--out f.json] [--backend b] [--text t]...', 2);
  return { modelDir, out, backend, texts: texts.length > 0 ? texts : DEFAULT_TEXTS };
}

/** Right-padded batch: pads get `padId`, attention 0 and label −100; labels are the input ids elsewhere. */
export function paddedBatch(rows: Int32Array[], padId: number): MicroBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(-100);
  const attentionMask = new Int32Array(B * T);
  rows.forEach((r, b) => {
    inputIds.set(r, b * T);
    labels.set(r, b * T);
    attentionMask.fill(1, b * T, b * T + r.length);
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
    let len = 0;
    while (len < T && batch.attentionMask[b * T + len] === 1) len++;
    for (let pos = 0; pos < len; pos++) {
      const target = pos + 1 < len ? batch.inputIds[b * T + pos + 1] : undefined;
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
  const batch = paddedBatch(rows, tok.padId);
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
    `backend ${info.name}; batch ${batch.batchSize}×${batch.seqLen}, row lengths ${rows.map((r) => r.length).join(', ')}; ` +
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
