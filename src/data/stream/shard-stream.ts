/**
 * The streaming path of DatasetShardActor (`streaming: true`): reads lazily, never the whole corpus, and
 * emits RawDocs batches — evaluation documents first (the first `val_size` documents of epoch 0's
 * shuffled stream, HF's `take`; or the `eval_dataset` documents), then training documents forever,
 * epoch after epoch (each epoch reshuffled with `seed + epoch` and again without its first `val_size`
 * documents, HF's `skip`); the trainer ends the run at `max_steps`.
 *
 * Every training batch carries, in its meta, the stream's state at the batch's start (`StreamShardState`,
 * positions only). A batch never spans two epochs. Resuming from a cursor re-creates the eval documents
 * (they depend only on the stream's head), then continues from the cursor's state: the first training
 * batch sent is the one the cursor's state starts.
 *
 * With `onBadRecord` (on_bad_record: skip) bad records are reported there and skipped. Positions are
 * byte offsets (line-based files) or indices of good records, so a skipped record never shifts a
 * cursor. No training documents at all is a usage error (exit 2): reading again would not help.
 */
import type { JsonValue } from '../../../schemas/ports';
import { DOCS_PER_BATCH, encodeRawDocs } from '../../../schemas/raw-docs';
import type { StreamShardState } from '../../../schemas/stream-cursor';
import { PtflowError } from '../../errors';
import type { MixStrategy } from '../mix';
import type { BadRecordHandler } from '../readers';
import type { DatasetSpec } from '../registry';
import { DatasetStream, type StreamDoc } from './dataset-stream';
import { EpochStream, fileTable, type StreamConfig } from './epoch-stream';
import type { IoCounter } from './file-records';
import { StreamMixer } from './mixer';

export interface StreamShardParams {
  train: DatasetSpec[];
  eval: DatasetSpec[];
  mix_strategy: MixStrategy;
  interleave_probs: number[] | null;
  val_size: number;
  seed: number;
  buffer_size: number;
  do_train: boolean;
  docs_per_batch?: number;
  /** A training batch also ends once its texts reach this many characters (default 128 Ki): small batches reach the trainer sooner. */
  batch_chars?: number;
  chunk_bytes?: number;
  /** The shard state of the checkpoint's stream cursor, or null for a fresh run. */
  resume: StreamShardState | null;
  /** on_bad_record: skip — told of each bad record skipped (absent: the first one throws). */
  onBadRecord?: BadRecordHandler;
}

/** Meta of a streamed RawDocs message (the fields of DocsMeta, schemas/docs-meta.ts, plus the stream state). */
export interface StreamDocsMeta {
  split: 'train' | 'eval';
  first: number;
  count: number;
  epoch: number;
  /** Training batches: the stream's state at this batch's first document. */
  state: StreamShardState | null;
  /** Added by stateful pipeline steps on the way: their snapshot before this batch (src/actors/step-snapshots.ts). */
  steps?: Record<string, unknown>;
}

export interface DocSink {
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
}

export function streamConfig(p: StreamShardParams, datasets: DatasetSpec[], valSize: number): StreamConfig {
  return {
    datasets, mixStrategy: p.mix_strategy, interleaveProbs: p.interleave_probs, seed: p.seed,
    bufferSize: p.buffer_size, valSize, chunkBytes: p.chunk_bytes, onBadRecord: p.onBadRecord,
  };
}

function encode(docs: readonly StreamDoc[], first: number, names: (fileId: number) => string): ArrayBuffer {
  return encodeRawDocs(docs.map((d, i) => ({ docId: first + i, source: names(d.fileId), text: d.text })));
}

/**
 * What survives a restart of the shard (the stage runs again in the same worker after a failure): how
 * many batches were sent, and where the training stream stands after the last one sent — so a restart
 * sends exactly the batches not sent yet.
 */
export interface ShardMemory {
  sent: number;
  /** Eval batches sent (a restart during the eval phase re-creates them and skips these). */
  evalSent: number;
  /** After the last training batch sent: the stream's state, or the start of the next epoch. */
  next: { state: StreamShardState } | { epochStart: number; emitted: number } | null;
  evalDocs: number;
}

export function newShardMemory(): ShardMemory {
  return { sent: 0, evalSent: 0, next: null, evalDocs: 0 };
}

/**
 * Sends eval and then training batches until the run is stopped; returns only without do_train.
 * `mem` carries progress across restarts; `beforeSend(n)` runs before the n-th send (1-based, fault hooks).
 */
export async function runStreamShard(
  out: DocSink,
  p: StreamShardParams,
  io: IoCounter = { bytes: 0 },
  mem: ShardMemory = newShardMemory(),
  beforeSend: (n: number) => void = () => undefined,
): Promise<{ eval_docs: number }> {
  if (!Number.isInteger(p.val_size) && p.val_size > 0) throw new PtflowError(`val_size=${p.val_size}: streaming needs a whole number of documents`, 2);
  const valSize = p.eval.length > 0 ? 0 : Math.trunc(p.val_size);
  const files = p.train.flatMap((s) => s.files);
  const evalFiles = p.eval.flatMap((s) => s.files);
  const ctx: Ctx = {
    p, io, mem, valSize, files, open: [],
    cfg: streamConfig(p, p.train, valSize),
    perBatch: p.docs_per_batch ?? DOCS_PER_BATCH,
    batchChars: p.batch_chars ?? 128 << 10,
    send: async (split, docs, first, epoch, state) => {
      beforeSend(mem.sent + 1);
      const meta: StreamDocsMeta = { split, first, count: docs.length, epoch, state };
      const names = split === 'eval' && p.eval.length > 0 ? evalFiles : files;
      await out.send(encode(docs, first, (id) => names[id] ?? ''), meta as unknown as JsonValue);
      mem.sent++;
    },
  };
  try {
    const evalDocs = mem.next === null ? await sendEval(ctx) : null;
    if (!p.do_train) return { eval_docs: evalDocs?.count ?? mem.evalDocs };
    return await sendTrain(ctx, evalDocs?.head ?? null);
  } finally {
    for (const o of ctx.open) await o.close().catch(() => undefined); // however the loop ends
  }
}

interface Ctx {
  p: StreamShardParams;
  io: IoCounter;
  mem: ShardMemory;
  cfg: StreamConfig;
  valSize: number;
  perBatch: number;
  batchChars: number;
  files: string[];
  open: { close(): Promise<void> }[];
  send(split: 'train' | 'eval', docs: StreamDoc[], first: number, epoch: number, state: StreamShardState | null): Promise<void>;
}

/** The eval batches (after a restart: those not sent yet). Returns epoch 0's stream when the eval documents came from its head. */
async function sendEval(c: Ctx): Promise<{ count: number; head: EpochStream | null }> {
  const { p, io, mem, perBatch } = c;
  let count = 0;
  let batches = 0;
  const emit = async (batch: StreamDoc[]): Promise<void> => {
    if (batches++ >= mem.evalSent) {
      await c.send('eval', batch, count, 0, null);
      mem.evalSent++;
    }
    count += batch.length;
  };
  let head: EpochStream | null = null;
  if (p.eval.length > 0) {
    const table = fileTable(p.eval);
    const sources = p.eval.map((spec, d) => new DatasetStream(spec, table.base[d], spec.files.map((_, i) => i), { io, chunkBytes: p.chunk_bytes, onBadRecord: p.onBadRecord }));
    c.open.push(...sources);
    const mixer = new StreamMixer(sources, p.mix_strategy, p.interleave_probs, p.seed);
    let batch: StreamDoc[] = [];
    for (let d = await mixer.next(); d; d = await mixer.next()) {
      batch.push(d);
      if (batch.length === perBatch) {
        await emit(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await emit(batch);
  } else if (c.valSize > 0 && p.do_train) {
    head = await EpochStream.open(c.cfg, 0, io);
    c.open.push(head);
    while (count < c.valSize) {
      const batch: StreamDoc[] = [];
      while (batch.length < Math.min(perBatch, c.valSize - count)) {
        const d = await head.next();
        if (!d) throw new PtflowError(`val_size=${c.valSize} should be smaller than the number of samples ${count + batch.length}`, 2);
        batch.push(d);
      }
      await emit(batch);
    }
  }
  mem.evalDocs = count;
  return { count, head };
}

/** Training batches, epoch after epoch, forever (from a checkpoint's cursor, or after a restart from where the last sent batch ended). */
async function sendTrain(c: Ctx, head: EpochStream | null): Promise<never> {
  const { p, io, mem, cfg } = c;
  let stream: EpochStream;
  let emitted: number;
  let trainedThisEpoch = 1; // a resumed state is only ever taken before a non-empty batch
  const openEpoch = async (epoch: number): Promise<EpochStream> => {
    const s = await EpochStream.open(cfg, epoch, io);
    c.open.push(s);
    for (let i = 0; i < c.valSize; i++) if (!(await s.next())) break;
    return s;
  };
  if (mem.next && 'state' in mem.next) {
    await head?.close();
    stream = await EpochStream.open(cfg, mem.next.state.epoch, io, mem.next.state);
    emitted = mem.next.state.emitted;
  } else if (mem.next) {
    stream = await openEpoch(mem.next.epochStart);
    emitted = mem.next.emitted;
    trainedThisEpoch = 0;
  } else if (p.resume) {
    await head?.close();
    stream = await EpochStream.open(cfg, p.resume.epoch, io, p.resume);
    emitted = p.resume.emitted;
  } else {
    stream = head ?? (await EpochStream.open(cfg, 0, io));
    emitted = 0;
    trainedThisEpoch = 0;
  }
  c.open.push(stream);
  for (;;) {
    const state = stream.snapshot(emitted);
    mem.next = { state };
    const batch: StreamDoc[] = [];
    let chars = 0;
    let ended = false;
    while (batch.length < c.perBatch && chars < c.batchChars) {
      const d = await stream.next();
      if (!d) {
        ended = true;
        break;
      }
      batch.push(d);
      chars += d.text.length;
    }
    if (batch.length > 0) {
      await c.send('train', batch, emitted, stream.epoch, state);
      emitted += batch.length;
      trainedThisEpoch += batch.length;
    }
    if (ended) {
      if (trainedThisEpoch === 0) {
        throw new PtflowError(
          `dataset ${p.train.map((s) => s.name).join(',')}: no documents to train on in epoch ${stream.epoch}` +
            (c.valSize > 0 ? ` after the first val_size=${c.valSize}` : '') + ` (${c.files.join(', ')})`,
          2,
        );
      }
      mem.next = { epochStart: stream.epoch + 1, emitted };
      await stream.close();
      c.open.splice(c.open.indexOf(stream), 1);
      stream = await openEpoch(stream.epoch + 1);
      trainedThisEpoch = 0;
    }
  }
}
