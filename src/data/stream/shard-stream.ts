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
 */
import type { JsonValue } from '../../../schemas/ports';
import { encodeRawDocs } from '../../../schemas/raw-docs';
import type { StreamShardState } from '../../../schemas/stream-cursor';
import { PtflowError } from '../../errors';
import type { MixStrategy } from '../mix';
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
}

/** Meta of a streamed RawDocs message (the fields of RawDocsMeta plus the stream state). */
export interface StreamDocsMeta {
  split: 'train' | 'eval';
  first: number;
  count: number;
  epoch: number;
  /** Training batches: the stream's state at this batch's first document. */
  state: StreamShardState | null;
}

export interface DocSink {
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
}

export function streamConfig(p: StreamShardParams, datasets: DatasetSpec[], valSize: number): StreamConfig {
  return {
    datasets, mixStrategy: p.mix_strategy, interleaveProbs: p.interleave_probs, seed: p.seed,
    bufferSize: p.buffer_size, valSize, chunkBytes: p.chunk_bytes,
  };
}

function encode(docs: readonly StreamDoc[], first: number, names: (fileId: number) => string): ArrayBuffer {
  return encodeRawDocs(docs.map((d, i) => ({ docId: first + i, source: names(d.fileId), text: d.text })));
}

/** Sends eval and then training batches until the run is stopped; returns only without do_train. */
export async function runStreamShard(out: DocSink, p: StreamShardParams, io: IoCounter = { bytes: 0 }): Promise<{ eval_docs: number }> {
  if (!Number.isInteger(p.val_size) && p.val_size > 0) throw new PtflowError(`val_size=${p.val_size}: streaming needs a whole number of documents`, 2);
  const perBatch = p.docs_per_batch ?? 256;
  const batchChars = p.batch_chars ?? 128 << 10;
  const valSize = p.eval.length > 0 ? 0 : Math.trunc(p.val_size);
  const cfg = streamConfig(p, p.train, valSize);
  const files = p.train.flatMap((s) => s.files);
  const name = (fileId: number): string => files[fileId] ?? '';
  const sendDocs = async (split: 'train' | 'eval', docs: StreamDoc[], first: number, epoch: number, state: StreamShardState | null): Promise<void> => {
    const meta: StreamDocsMeta = { split, first, count: docs.length, epoch, state };
    await out.send(encode(docs, first, split === 'eval' && p.eval.length > 0 ? evalName : name), meta as unknown as JsonValue);
  };
  const evalFiles = p.eval.flatMap((s) => s.files);
  const evalName = (fileId: number): string => evalFiles[fileId] ?? '';

  const open: { close(): Promise<void> }[] = []; // closed however the loop ends (the consumer may stop it by throwing)
  try {
    return await produce(p, io, open, sendDocs, cfg, valSize, perBatch, batchChars, files);
  } finally {
    for (const o of open) await o.close().catch(() => undefined);
  }
}

async function produce(
  p: StreamShardParams, io: IoCounter, open: { close(): Promise<void> }[],
  sendDocs: (split: 'train' | 'eval', docs: StreamDoc[], first: number, epoch: number, state: StreamShardState | null) => Promise<void>,
  cfg: StreamConfig, valSize: number, perBatch: number, batchChars: number, files: string[],
): Promise<{ eval_docs: number }> {
  // Evaluation documents.
  let evalDocs = 0;
  let head: EpochStream | null = null;
  if (p.eval.length > 0) {
    const table = fileTable(p.eval);
    const sources = p.eval.map((spec, d) => new DatasetStream(spec, table.base[d], spec.files.map((_, i) => i), { io, chunkBytes: p.chunk_bytes }));
    open.push(...sources);
    const mixer = new StreamMixer(sources, p.mix_strategy, p.interleave_probs, p.seed);
    let batch: StreamDoc[] = [];
    for (let d = await mixer.next(); d; d = await mixer.next()) {
      batch.push(d);
      if (batch.length === perBatch) {
        await sendDocs('eval', batch, evalDocs, 0, null);
        evalDocs += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await sendDocs('eval', batch, evalDocs, 0, null);
    evalDocs += batch.length;
  } else if (valSize > 0 && p.do_train) {
    head = await EpochStream.open(cfg, 0, io);
    open.push(head);
    while (evalDocs < valSize) {
      const batch: StreamDoc[] = [];
      while (batch.length < Math.min(perBatch, valSize - evalDocs)) {
        const d = await head.next();
        if (!d) throw new PtflowError(`val_size=${valSize} should be smaller than the number of samples ${evalDocs + batch.length}`, 2);
        batch.push(d);
      }
      await sendDocs('eval', batch, evalDocs, 0, null);
      evalDocs += batch.length;
    }
  }
  if (!p.do_train) return { eval_docs: evalDocs };

  // Training documents, epoch after epoch.
  let stream: EpochStream;
  let emitted = 0;
  let trainedThisEpoch = 0;
  if (p.resume) {
    await head?.close();
    stream = await EpochStream.open(cfg, p.resume.epoch, io, p.resume);
    open.push(stream);
    emitted = p.resume.emitted;
    trainedThisEpoch = 1; // a cursor is only ever taken before a non-empty batch
  } else {
    stream = head ?? (await EpochStream.open(cfg, 0, io));
    open.push(stream);
  }
  for (;;) {
    const state = stream.snapshot(emitted);
    const batch: StreamDoc[] = [];
    let chars = 0;
    let ended = false;
    while (batch.length < perBatch && chars < batchChars) {
      const d = await stream.next();
      if (!d) {
        ended = true;
        break;
      }
      batch.push(d);
      chars += d.text.length;
    }
    if (batch.length > 0) {
      await sendDocs('train', batch, emitted, stream.epoch, state);
      emitted += batch.length;
      trainedThisEpoch += batch.length;
    }
    if (ended) {
      if (trainedThisEpoch === 0) {
        throw new PtflowError(
          `dataset ${p.train.map((s) => s.name).join(',')}: no documents to train on in epoch ${stream.epoch}` +
            (valSize > 0 ? ` after the first val_size=${valSize}` : '') + ` (${files.join(', ')})`,
        );
      }
      await stream.close();
      open.splice(open.indexOf(stream), 1);
      stream = await EpochStream.open(cfg, stream.epoch + 1, io);
      open.push(stream);
      for (let i = 0; i < valSize; i++) if (!(await stream.next())) break;
      trainedThisEpoch = 0;
    }
  }
}
