/**
 * What reading training blocks from a tokenized cache by offset costs per step, in CPU time (so the
 * figures hold on a loaded machine), split by part. The offset reader's real pieces (SplitTokens,
 * BlockSource, collate, encodeTrainBatch) run in a worker thread, as actors/CacheBlockActor.ts does,
 * and the trainer's side (decodeTrainBatch) in the main thread:
 *
 *   first touch of a record batch   read its bytes (1 MiB pieces), vocab_size check, sha256 check
 *   each block                      positioned read of its tokens (+ BOS)
 *   each micro-batch                collate + encode + postMessage (reader), decode (trainer)
 *
 * From these, the reader's CPU per step over bench/cache-train.ts's steps 2..N (seed 42) is projected
 * for its 0.5 GB and 4 GB caches: how many record batches each step touches for the first time, from
 * the real epoch permutation over their block count (record batches of the size measured here), with
 * the checks done when a block is read and done VERIFY_AHEAD_BLOCKS ahead (src/cache/verify-ahead.ts).
 *
 * Then the real CacheBlockActor in a pipeline (its own worker thread, credit window --window), and the
 * in-memory path it is compared with (CacheShardActor → CollatorActor), feeding a stand-in trainer (bench/util/step-sink.ts) that waits --setup-ms, then takes --steps batches
 * --step-ms apart without using CPU itself: the CPU of every thread but the trainer's and the main
 * thread's (the data actors', with V8's helpers), before the first step and per step over steps 2..N, as
 * bench/cache-train.ts counts steps/s. With --base <dist> the first touch and the pipeline are also
 * measured, in the same run, with another build's reader and actor (e.g. a copy of the previous
 * commit's dist/).
 *
 *   node dist/bench/cache-read-cost.js [--mtokens 16] [--cutoff 1024] [--batch 4] [--steps 20] [--reps 3]
 *                                      [--window 4] [--setup-ms 1500] [--step-ms 100] [--base <dist>]
 *
 * Documents are synthetic (random ids < 32000, 16..2047 tokens, as bench/cache-train.ts) written with
 * the cache's own PartWriter (record batches of 2^20 tokens).
 */
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CacheBlockParams } from '../actors/CacheBlockActor';
import type { CacheShardParams } from '../actors/CacheShardActor';
import type { CollatorParams } from '../actors/CollatorActor';
import type { ActorNode, Edge } from '../src/pipeline/graph';
import { startPipeline } from '../src/pipeline/supervisor';
import { TelemetryBus } from '../src/telemetry/bus';
import type { StepSinkResult } from './util/step-sink';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PartWriter } from '../src/cache/arrow-part';
import { BlockSource, type BlockRules } from '../src/cache/block-source';
import { scanPartOffsets, type PartOffsets } from '../src/cache/part-offsets';
import { SplitTokens, type SplitChecks } from '../src/cache/split-tokens';
import { VERIFY_AHEAD_BLOCKS } from '../src/cache/verify-ahead';
import { collate } from '../src/data/collate';
import { epochOrder } from '../src/data/epoch-order';
import { decodeTrainBatch, encodeTrainBatch } from '../schemas/train-batch';
import type { PartFile } from '../schemas/token-cache';
import { median } from './util/stats';
import { xorshift32 } from './util/xorshift';

const VOCAB = 32000;
const SEED = 42; // bench/cache-train.ts's seed

interface Opts {
  mtokens: number;
  cutoff: number;
  batch: number;
  steps: number;
  reps: number;
  window: number;
  setupMs: number;
  stepMs: number;
  base: string | null;
}

/**
 * CPU ms of `f`: the process's (µs resolution; a thread's own schedstat is only updated at scheduler
 * ticks, 4 ms here). The reader measures while the main thread waits, so it is the reader thread's
 * (and V8's helper threads') time.
 */
function cpu<T>(f: () => T): { ms: number; value: T } {
  const c0 = process.cpuUsage();
  const value = f();
  const c = process.cpuUsage(c0);
  return { ms: (c.user + c.system) / 1000, value };
}

interface Cache {
  dir: string;
  part: PartFile;
  offsets: PartOffsets;
}

async function makeCache(mtokens: number): Promise<Cache> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-bench-read-cost-'));
  const w = new PartWriter(path.join(dir, 'part.arrow'));
  const next = xorshift32();
  let tokens = 0;
  while (tokens < mtokens * 1e6) {
    const ids = new Int32Array(16 + (next() % 2032));
    for (let i = 0; i < ids.length; i++) ids[i] = next() % VOCAB;
    w.add(ids);
    tokens += ids.length;
  }
  const st = await w.close();
  const part: PartFile = { file: 'part.arrow', rank: 0, first: 0, documents: st.documents, tokens: st.tokens, bytes: st.bytes, content_sha256: st.contentSha256 };
  return { dir, part, offsets: await scanPartOffsets(dir, part, 'f'.repeat(64)) };
}

// ---------------------------------------------------------------- reader thread (the actor's work)

interface ReaderReport {
  batches: number;
  batchTokens: number;
  blocks: number;
  /** Per record batch, CPU ms of its first touch beyond a plain block read. */
  coldRead: number;
  coldVocab: number;
  coldSha: number;
  /** Per block, a batch already verified. */
  warmBlock: number;
  /** Per micro-batch. */
  collateEncode: number;
  send: number;
  /** With --base: first touch of a record batch (all checks), that build's reader and this one's, in turn. */
  versus: { base: number; this: number } | null;
}

type SplitTokensClass = Pick<typeof SplitTokens, 'open'>;

function open(c: Cache, checks: SplitChecks, cls: SplitTokensClass = SplitTokens): SplitTokens {
  return cls.open(c.dir, [c.part], [c.offsets], checks);
}

function readerThread(c: Cache, o: Opts): void {
  const rules: BlockRules = { cutoffLen: o.cutoff, packing: true, neatPacking: false, blockBosId: 1 };
  const batchStarts: number[] = [];
  let t = 0;
  for (const [, toks] of c.offsets.batches) {
    batchStarts.push(t);
    t += toks;
  }
  const L = o.cutoff;
  const out = new Int32Array(L);
  // One block inside each record batch (its first whole block), read from a freshly opened split:
  // every read is that batch's first touch.
  const firstTouch = (checks: SplitChecks, cls?: SplitTokensClass): number => {
    const s = open(c, checks, cls);
    const ms = cpu(() => {
      for (const b of batchStarts) s.readTokens(b, out);
    }).ms;
    s.close();
    return ms / batchStarts.length;
  };
  const fd = fs.openSync(path.join(c.dir, c.part.file), 'r');
  const piece = new Uint8Array(1 << 20);
  const rawRead = (): number =>
    cpu(() => {
      for (const [, toks, , valAt, value0] of c.offsets.batches) {
        for (let at = 0; at < 4 * toks; at += piece.length) fs.readSync(fd, piece, 0, Math.min(piece.length, 4 * toks - at), valAt + 4 * value0 + at);
      }
    }).ms / batchStarts.length;
  const none: number[] = [];
  const vocab: number[] = [];
  const full: number[] = [];
  const raw: number[] = [];
  // With --base: the same first touch by that build's reader, in turn with this one's.
  const base = o.base ? (require(path.resolve(o.base, 'src/cache/split-tokens.js')) as { SplitTokens: SplitTokensClass }).SplitTokens : null;
  const baseFull: number[] = [];
  const thisFull: number[] = [];
  for (let r = 0; r < o.reps; r++) {
    none.push(firstTouch({ checksums: false }));
    raw.push(rawRead());
    vocab.push(firstTouch({ checksums: false, vocabSize: VOCAB }));
    full.push(firstTouch({ vocabSize: VOCAB }));
    if (base) {
      baseFull.push(firstTouch({ vocabSize: VOCAB }, base));
      thisFull.push(firstTouch({ vocabSize: VOCAB }));
    }
  }
  fs.closeSync(fd);

  // Blocks of verified batches, in the epoch's order, then collate + encode + send per micro-batch.
  const src = new BlockSource(open(c, { vocabSize: VOCAB }), rules);
  const order = epochOrder(src.count, 0, SEED, false);
  for (const i of order) src.row(i); // verify every batch first
  const warm: number[] = [];
  const ce: number[] = [];
  const send: number[] = [];
  for (let r = 0; r < o.reps; r++) {
    warm.push(cpu(() => { for (const i of order) src.row(i); }).ms / order.length);
    const rows = Array.from({ length: o.batch }, (_, k) => src.row(order[k]));
    const n = 50;
    let bytes: ArrayBuffer[] = [];
    ce.push(cpu(() => { for (let k = 0; k < n; k++) bytes.push(encodeTrainBatch(collate(rows, 0))); }).ms / n);
    send.push(cpu(() => { for (const b of bytes) parentPort!.postMessage({ t: 'batch', b }, [b]); }).ms / n);
    bytes = [];
  }
  src.tokens.close();

  const report: ReaderReport = {
    batches: batchStarts.length,
    batchTokens: c.part.tokens / batchStarts.length,
    blocks: order.length,
    coldRead: median(raw),
    coldVocab: median(vocab) - median(none) - median(raw),
    coldSha: median(full) - median(vocab),
    warmBlock: median(warm),
    collateEncode: median(ce),
    send: median(send),
    versus: base ? { base: median(baseFull), this: median(thisFull) } : null,
  };
  parentPort!.postMessage({ t: 'report', report });
}

// ---------------------------------------------------------------- main thread (the trainer's side)

/**
 * New record batches touched in each of the first `steps` steps of a cache of `blocks` blocks: at step
 * k the reader sends the micro-batch `window` ahead of the trainer's, so it verifies the batches of
 * epoch positions [(k−1)·batch + lead, k·batch + lead), lead = window·batch (+ VERIFY_AHEAD_BLOCKS
 * when verifying ahead); the positions before step 1's are verified before the first step.
 */
function coldPerStep(blocks: number, batchTokens: number, o: Opts, ahead: number): number[] {
  const order = epochOrder(blocks, 0, SEED, false);
  const seen = new Set<number>();
  const touch = (from: number, to: number): number => {
    let cold = 0;
    for (let j = from; j < Math.min(to, blocks); j++) {
      const i = order[j];
      const first = Math.floor((i * o.cutoff) / batchTokens);
      const last = Math.floor(((i + 1) * o.cutoff - 1) / batchTokens);
      for (let b = first; b <= last; b++) if (!seen.has(b) && seen.add(b)) cold++;
    }
    return cold;
  };
  const lead = o.window * o.batch + ahead;
  touch(0, lead);
  const perStep: number[] = [];
  for (let k = 1; k <= o.steps; k++) perStep.push(touch((k - 1) * o.batch + lead, k * o.batch + lead));
  return perStep;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mtokens: { type: 'string', default: '16' }, cutoff: { type: 'string', default: '1024' }, batch: { type: 'string', default: '4' },
      steps: { type: 'string', default: '20' }, reps: { type: 'string', default: '3' }, window: { type: 'string', default: '4' },
      'setup-ms': { type: 'string', default: '1500' }, 'step-ms': { type: 'string', default: '100' }, base: { type: 'string' },
    },
    strict: true,
  });
  const o: Opts = {
    mtokens: Number(values.mtokens), cutoff: Number(values.cutoff), batch: Number(values.batch), steps: Number(values.steps), reps: Number(values.reps),
    window: Number(values.window), setupMs: Number(values['setup-ms']), stepMs: Number(values['step-ms']), base: values.base ?? null,
  };
  const c = await makeCache(o.mtokens);
  try {
    const decodeMs: number[] = [];
    const report = await new Promise<ReaderReport>((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { c, o } });
      w.on('message', (m: { t: 'batch'; b: ArrayBuffer } | { t: 'report'; report: ReaderReport }) => {
        if (m.t === 'report') resolve(m.report);
        else {
          const t0 = performance.now(); // wall time: an upper bound of this thread's CPU for it
          decodeTrainBatch(m.b);
          decodeMs.push(performance.now() - t0);
        }
      });
      w.on('error', reject);
    });
    const f = (x: number): string => x.toFixed(3);
    const r = report;
    const cold = r.coldRead + r.coldVocab + r.coldSha;
    process.stdout.write(
      `small cache: ${c.part.tokens} tokens, ${(c.part.bytes / 1e6).toFixed(0)} MB, ${r.batches} record batches of ~${Math.round(r.batchTokens)} tokens, ` +
        `${r.blocks} blocks of ${o.cutoff}; ${o.batch} blocks a step; CPU ms of the thread that pays, median of ${o.reps}\n` +
        `reader thread, first touch of a record batch (${((4 * r.batchTokens) / 2 ** 20).toFixed(1)} MiB): ${f(cold)} ms = ` +
        `read ${f(r.coldRead)} + vocab_size check ${f(r.coldVocab)} + sha256 ${f(r.coldSha)}\n` +
        (r.versus ? `  the same, all checks, base build ${f(r.versus.base)} ms, this build ${f(r.versus.this)} ms (ratio ${(r.versus.this / r.versus.base).toFixed(2)})\n` : '') +
        `reader thread, each block (batch verified): ${f(r.warmBlock)} ms; each step: collate + encode ${f(r.collateEncode)} ms, postMessage ${f(r.send)} ms\n` +
        `trainer thread, each step: decode ${f(median(decodeMs))} ms (wall, median of ${decodeMs.length} messages; the batch's bytes are transferred, not copied)\n`,
    );
    const perStepWarm = o.batch * r.warmBlock + r.collateEncode + r.send;
    for (const gb of [0.5, 4]) {
      const blocks = Math.floor((gb * 1e9) / 4 / o.cutoff);
      const at = (ahead: number): string => {
        const c2 = mean(coldPerStep(blocks, r.batchTokens, o, ahead).slice(1)); // cache-train's steps/s count steps 2..N
        return `${c2.toFixed(2)} new record batches a step → reader ${f(perStepWarm + c2 * cold)} ms a step (sha256 ${f(c2 * r.coldSha)}, ` +
          `batch reads ${f(c2 * r.coldRead)}, vocab check ${f(c2 * r.coldVocab)}, block reads ${f(o.batch * r.warmBlock)}, collate + encode + send ${f(r.collateEncode + r.send)})`;
      };
      process.stdout.write(
        `projected, ${gb} GB cache (${blocks} blocks, ${Math.ceil(blocks / (r.batchTokens / o.cutoff))} record batches), steps 2..${o.steps}:\n` +
          `  verified when read: ${at(0)}\n  verified ${VERIFY_AHEAD_BLOCKS} blocks ahead (done during setup): ${at(VERIFY_AHEAD_BLOCKS)}\n`,
      );
    }
    process.stdout.write(
      `in a pipeline: data actors → stand-in trainer (setup ${o.setupMs} ms, ${o.steps} steps ${o.stepMs} ms apart, window ${o.window}); ` +
        `CPU ms of the data actors' threads and helpers, median of ${o.reps}\n`,
    );
    const readers: [string, Reader][] = [
      ['in memory (CacheShardActor → CollatorActor)', { kind: 'memory' }],
      ['by offset, this build', { kind: 'blocks', module: 'actors/CacheBlockActor' }],
    ];
    if (o.base) readers.splice(1, 0, [`by offset, base ${o.base}`, { kind: 'blocks', module: path.resolve(o.base, 'actors/CacheBlockActor.js') }]);
    const results = new Map<string, { setup: number[]; perStep: number[] }>(readers.map(([name]) => [name, { setup: [], perStep: [] }]));
    for (let r = 0; r < o.reps; r++) {
      for (const [name, reader] of readers) {
        const x = await inPipeline(c, o, reader);
        results.get(name)!.setup.push(x.setup);
        results.get(name)!.perStep.push(x.perStep);
      }
    }
    const memPerStep = median(results.get(readers[0][0])!.perStep);
    for (const [name, x] of results) {
      const ratio = name === readers[0][0] ? '' : ` (${(median(x.perStep) / memPerStep).toFixed(2)} × in memory)`;
      process.stdout.write(`  ${name}: until the first step ${f(median(x.setup))} ms; steps 2..${o.steps}: ${f(median(x.perStep))} ms a step${ratio}\n`);
    }
  } finally {
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
}

/** CPU of the reader's side: until the first batch is taken, and per step over steps 2..N. */
type Reader = { kind: 'blocks'; module: string } | { kind: 'memory' };

/**
 * CPU of the reader's side (every thread but the stand-in trainer's and the main one's): until the
 * first batch is taken, and per step over steps 2..N. `blocks`: CacheBlockActor from `module`;
 * `memory`: the in-memory path it is compared with (CacheShardActor → CollatorActor, every block held).
 */
async function inPipeline(c: Cache, o: Opts, reader: Reader): Promise<{ setup: number; perStep: number }> {
  for (const f of fs.readdirSync(c.dir)) if (f.endsWith('.offsets.json')) fs.rmSync(path.join(c.dir, f)); // each run builds its own
  const packing = {
    cutoff_len: o.cutoff, packing: true, neat_packing: false, add_bos: true, bos_id: 1, pad_id: 0, train_batch_size: o.batch, eval_batch_size: o.batch,
    train: true, seed: SEED, disable_shuffling: false, resume_cursor: null,
  };
  const actors: ActorNode[] = [
    { name: 'trainer', module: 'bench/util/step-sink', params: { setup_ms: o.setupMs, steps: o.steps, step_ms: o.stepMs }, inputs: ['train', 'eval'], outputs: [], maxRestarts: 0 },
  ];
  const edge = (from: string, port: string, to: string, toPort: string, window: number): Edge => (
    { from: { actor: from, port }, to: { actor: to, port: toPort }, schema: 'TrainBatch', window, byteBudget: 256 * 2 ** 20 }
  );
  const edges = [edge('batches', 'train', 'trainer', 'train', o.window), edge('batches', 'eval', 'trainer', 'eval', 2)];
  if (reader.kind === 'blocks') {
    const params: CacheBlockParams = {
      ...packing, dir: c.dir, fingerprint: 'f'.repeat(64), build: null, train_parts: [c.part], validation_parts: [], rank: 0, world_size: 1,
      streaming: false, buffer_size: 1, vocab_size: VOCAB,
    };
    actors.push({ name: 'batches', module: reader.module, params, inputs: [], outputs: ['train', 'eval'], maxRestarts: 0 });
  } else {
    const shard: CacheShardParams = { dir: c.dir, train: [c.part], validation: [], do_train: true, packing: true, cutoff_len: o.cutoff, bos_id: 1, vocab_size: VOCAB };
    actors.push(
      { name: 'shard', module: 'actors/CacheShardActor', params: shard, inputs: [], outputs: ['tokens'], maxRestarts: 0 },
      { name: 'batches', module: 'actors/CollatorActor', params: packing satisfies CollatorParams, inputs: ['tokens'], outputs: ['train', 'eval'], maxRestarts: 0 },
    );
    edges.push(edge('shard', 'tokens', 'batches', 'tokens', 4));
  }
  const p = startPipeline({ actors, edges }, { bus: new TelemetryBus('bench-read-cost'), finishers: ['trainer'] });
  const cpuAt = ((await p.done).get('trainer') as StepSinkResult).othersCpuMs;
  // cpuAt[0] start, cpuAt[k] when batch k is taken, cpuAt[steps + 1] at the end
  return { setup: cpuAt[1] - cpuAt[0], perStep: (cpuAt[o.steps + 1] - cpuAt[2]) / (o.steps - 1) };
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error((e as Error).stack ?? e);
    process.exit(1);
  });
} else {
  const { c, o } = workerData as { c: Cache; o: Opts };
  readerThread(c, o);
}
