/**
 * CacheBlockActor: trains from a tokenized cache (`tokenized_path`) without loading it. It replaces
 * CacheShardActor + CollatorActor when the run reads a cache: each micro-batch's rows are read from the
 * Arrow parts by offset (src/cache/split-tokens.ts, block-source.ts) — the same rows, in the same
 * order, as the in-memory collator builds — so memory stays flat whatever the cache size and the first
 * micro-batch is ready as soon as the offsets indexes are read. Each record batch's content checksum
 * (and with vocab_size, its token id range) is verified the first time a block touches it, before any
 * of its tokens is sent (split-tokens.ts) — in map mode, for the first blocks, earlier: while the
 * trainer sets up (src/cache/verify-ahead.ts).
 *
 *   eval    the validation split's rows in order, in batches of eval_batch_size
 *   train   map mode: each epoch a seeded permutation of the block indices (this rank's share of it
 *           with world_size > 1); `streaming: true`: blocks read in order through a shuffle buffer of
 *           buffer_size blocks (src/cache/block-order.ts), every rank reading every block through
 *           the same buffer and keeping its slice of each global micro-batch. Every micro-batch
 *           carries the cursor of the next one: (epoch, micro), or the buffer's block indices when
 *           streaming; both count global micro-batches, whatever the world size.
 *
 * With `build` (a map-mode run without tokenized_path) it first makes the run's own cache in `dir`
 * (src/cache/run-cache.ts: reused when its fingerprint matches, else built with the prepare builder),
 * so the trainer's wait for that first pass is counted as its wait for data, like the in-memory path's.
 */
import { Writable } from 'node:stream';
import type { JsonValue } from '../schemas/ports';
import type { PartFile } from '../schemas/token-cache';
import type { DataCursor, MapCursor, TrainBatchMeta } from '../schemas/train-batch-meta';
import { isCacheStreamCursor, parseCacheStreamCursor, type CacheStreamCursor } from '../schemas/cache-cursor';
import { isStreamCursor } from '../schemas/stream-cursor';
import { encodeTrainBatch } from '../schemas/train-batch';
import { BlockSource, type BlockRules } from '../src/cache/block-source';
import { mapMicroBatches, streamMicroBatches, streamStart, type MicroBatchRows } from '../src/cache/block-order';
import { ensurePartOffsets } from '../src/cache/part-offsets';
import { checkTrainDocuments, ensureRunCache, type RunCacheBuild } from '../src/cache/run-cache';
import { describeBadRecord } from '../src/data/readers/record-error';
import { BadRecordLog } from '../src/data/bad-record-log';
import { SplitTokens } from '../src/cache/split-tokens';
import { VERIFY_AHEAD_BLOCKS, VerifyAhead } from '../src/cache/verify-ahead';
import { collate, emptyShareBatch } from '../src/data/collate';
import { blockBosId, type CollatorPackingParams } from '../src/data/collator-params';
import { sendEvalBatches } from '../src/data/eval-batches';
import type { PackedBlock } from '../src/data/packer';
import { throwIfArmed } from '../src/faults';
import { PtflowError } from '../src/errors';
import { defineStage } from '../src/pipeline/stage';

export interface CacheBlockParams extends CollatorPackingParams {
  /** The cache directory and its fingerprint (index.json). */
  dir: string;
  fingerprint: string;
  /** Build (or reuse) the run's own cache in `dir` first; the parts then come from its index. */
  build?: RunCacheBuild | null;
  /** Parts of each split, in order (from index.json; ignored with `build`). */
  train_parts: PartFile[];
  validation_parts: PartFile[];
  seed: number;
  disable_shuffling: boolean;
  resume_cursor: DataCursor | null;
  /** This trainer's slice of each global micro-batch (src/data/epoch-order.ts rankShare; streaming: rankSlice). */
  rank: number;
  world_size: number;
  /** Read blocks in order through a shuffle buffer of buffer_size blocks. */
  streaming: boolean;
  buffer_size: number;
  /** The model's vocab_size: an id outside it is refused naming the part and row (null: not checked). */
  vocab_size?: number | null;
}

/** What survives a restart of this actor inside its worker. */
interface BlockMemory {
  /** The cursor after the last batch sent. */
  nextToSend: DataCursor | null;
  /** Bad records reported so far (a rebuild after a restart reads them again). */
  badRecords: BadRecordLog;
}

/** A stream whose lines become the actor's log lines (the cache builder's progress). */
function logLines(log: (line: string) => void): Writable {
  let buf = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      buf += String(chunk);
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        log(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      done();
    },
  });
}

async function openSplit(p: CacheBlockParams, parts: PartFile[], rules: BlockRules): Promise<BlockSource> {
  const offsets = [];
  for (const part of parts) offsets.push(await ensurePartOffsets(p.dir, part, p.fingerprint));
  return new BlockSource(SplitTokens.open(p.dir, parts, offsets, { vocabSize: p.vocab_size }), rules);
}

export const stage = defineStage<CacheBlockParams>(async (ctx) => {
  const mem: BlockMemory = ctx.restartState('blocks', () => ({ nextToSend: null, badRecords: new BadRecordLog() }));
  let p = ctx.params;
  if (p.build) {
    const onBad = p.build.on_bad_record === 'skip' ? (r: Parameters<BadRecordLog['add']>[0]) => void (mem.badRecords.add(r) && ctx.emit('data.bad_record', r)) : undefined;
    const log = mem.badRecords;
    let index;
    try {
      index = await ensureRunCache(p.build, logLines((line) => ctx.log('info', line)), onBad);
      checkTrainDocuments(p.build, index);
    } catch (e) {
      // e.g. "no documents to train on" because every record was bad: say so (as DatasetShardActor)
      if (e instanceof PtflowError && log.count > 0 && log.first) {
        throw new PtflowError(`${e.message} (${log.count} bad record${log.count === 1 ? '' : 's'} skipped; first: ${describeBadRecord(log.first)})`, e.exitCode);
      }
      throw e;
    }
    p = { ...p, fingerprint: index.fingerprint, train_parts: index.splits.train?.parts ?? [], validation_parts: index.splits.validation?.parts ?? [] };
  }
  const bos = blockBosId(p);
  const rules: BlockRules = { cutoffLen: p.cutoff_len, packing: p.packing, neatPacking: p.neat_packing, blockBosId: bos, docBosId: bos };
  const evalSrc = await openSplit(p, p.validation_parts, rules);
  const trainSrc = p.train ? await openSplit(p, p.train_parts, rules) : null;
  try {
    if (trainSrc && trainSrc.count === 0) {
      throw new PtflowError(
        `Cannot find sufficient samples, consider increasing dataset size. (${trainSrc.tokens.documents} documents, ${trainSrc.tokens.tokens} tokens: ` +
          `fewer than one block of cutoff_len ${p.cutoff_len})`,
        2, // the data's fault: a restart would read the same cache again
      );
    }
    if (ctx.attempt === 0) {
      ctx.emit('data.ready', {
        train_blocks: trainSrc?.count ?? 0, eval_blocks: evalSrc.count, train_tokens: trainSrc?.tokens.tokens ?? 0,
        documents: (trainSrc?.tokens.documents ?? 0) + evalSrc.tokens.documents,
      });
    }

    // Evaluation batches, in order (after a restart: those not sent yet).
    const evalOut = ctx.output('eval');
    await sendEvalBatches(evalOut, evalSrc, { batchSize: p.eval_batch_size, padId: p.pad_id, alreadySent: evalOut.stats.messages });
    evalOut.end();
    if (!trainSrc) return { eval_blocks: evalSrc.count };

    const out = ctx.output('train');
    const sent = out.stats.messages;
    const resident = new Map<number, PackedBlock>();
    const batches = trainBatches(p, mem.nextToSend, trainSrc, resident);
    // Map mode: checks of the next blocks run during the first wait for credit, while the trainer sets
    // up (src/cache/verify-ahead.ts).
    // Streaming reads its blocks in order, so a record batch is checked once per ~1000 blocks anyway.
    const ahead = new VerifyAhead<DataCursor>(batches, trainSrc, p.streaming ? 0 : VERIFY_AHEAD_BLOCKS);
    let verifyAhead = !p.streaming;
    for (let k = 1; ; k++) {
      const mb = ahead.next();
      throwIfArmed(ctx.actor, sent + k);
      const rows = mb.rows.map((i) => {
        const r = resident.get(i);
        if (r === undefined) return trainSrc.row(i);
        resident.delete(i);
        return r;
      });
      for (const i of mb.others ?? []) resident.delete(i); // read into the buffer, trained on by another rank
      const batch = rows.length > 0 ? collate(rows, p.pad_id) : emptyShareBatch(p.pad_id); // this rank's slice of a short last micro-batch
      let tokens = 0;
      for (const v of batch.attentionMask) tokens += v;
      const meta: TrainBatchMeta = {
        epoch: mb.epoch, micro: mb.micro, microPerEpoch: mb.microPerEpoch, lastInEpoch: mb.last, blocks: trainSrc.count, tokens, cursor: mb.next,
      };
      const sending = out.send(encodeTrainBatch(batch), meta as unknown as JsonValue);
      // Only the first wait is the trainer's setup; later ones are its steps, which need the cores.
      if (verifyAhead) verifyAhead = !(await ahead.whileWaiting(sending));
      else await sending;
      mem.nextToSend = mb.next;
    }
  } finally {
    evalSrc.tokens.close();
    trainSrc?.tokens.close();
  }
});

/** The micro-batches from the resume point (a restart's, else the checkpoint's, else the start). */
function trainBatches(p: CacheBlockParams, restartAt: DataCursor | null, src: BlockSource, resident: Map<number, PackedBlock>): Generator<MicroBatchRows<DataCursor>> {
  const from = restartAt ?? p.resume_cursor;
  if (p.streaming) {
    if (from !== null && !isCacheStreamCursor(from)) {
      throw new PtflowError('the checkpoint was written by a run that did not stream the tokenized cache: resume it with the same streaming and tokenized_path', 2);
    }
    const o = { blocks: src.count, batchSize: p.train_batch_size, bufferSize: p.buffer_size, seed: p.seed, rank: p.rank, worldSize: p.world_size };
    const start: CacheStreamCursor = from === null ? streamStart(o) : parseCacheStreamCursor(from, 'checkpoint ptflow_state.json cursor');
    // A block is read when it enters the buffer (in order) and held until it is batched.
    return streamMicroBatches(o, start, (i) => void resident.set(i, src.row(i)));
  }
  if (from !== null && (isStreamCursor(from) || isCacheStreamCursor(from))) {
    throw new PtflowError('the checkpoint was written by a streamed run: resume it with streaming: true', 2);
  }
  const o = { blocks: src.count, batchSize: p.train_batch_size, seed: p.seed, keepOrder: p.disable_shuffling, rank: p.rank, worldSize: p.world_size };
  return mapMicroBatches(o, (from as MapCursor | null) ?? { epoch: 0, micro: 0 });
}
