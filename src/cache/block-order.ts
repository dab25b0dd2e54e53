/**
 * Which training rows (block indices) make up each micro-batch, epoch after epoch, and the cursor to
 * resume right after each one — for the two ways a cache is trained from (actors/CacheBlockActor.ts):
 *
 *   mapMicroBatches(o, from)      map mode: each epoch a seeded permutation of all block indices
 *                                 (epochOrder: the in-memory collator's order, 4 bytes per block),
 *                                 cut into micro-batches; with rank/world_size only this rank's
 *                                 slice of each global micro-batch (rankShare: `micro` counts
 *                                 global micro-batches; a rank's slice of the last one may be
 *                                 empty, `rows: []`; a re-based cursor's `shift` moves the first
 *                                 epoch's grid). Resuming at (epoch, micro) costs one
 *                                 permutation, never a pass over the data.
 *   streamMicroBatches(o, from, load)  streaming: blocks read in order, through a seeded shuffle
 *                                 buffer of `bufferSize` blocks (the streamed run's algorithm);
 *                                 `load(i)` is called as block i enters the buffer, in read order
 *                                 (and for the resident blocks first when resuming). With
 *                                 rank/world_size every rank runs the same buffer and cuts global
 *                                 micro-batches of batchSize × worldSize blocks (those one process
 *                                 with that batch size takes; `micro` and the cursor count them, so
 *                                 the cursor does not depend on the world size); `rows` is this
 *                                 rank's slice (rankSlice; empty for a late rank in a short last
 *                                 one) and `others` the rest, which the caller may release.
 *
 * Both are endless generators: the trainer stops the run.
 */
import type { MapCursor } from '../../schemas/train-batch-meta';
import type { CacheStreamCursor } from '../../schemas/cache-cursor';
import { epochOrder, rankShare, rankSlice } from '../data/epoch-order';
import { Rng } from '../data/rng';
import { ShuffleBuffer } from '../data/stream/shuffle-buffer';
import { PtflowError } from '../errors';

export interface MicroBatchRows<C> {
  epoch: number;
  micro: number;
  microPerEpoch: number;
  last: boolean;
  /** Block indices, in batch order. */
  rows: number[];
  /** Where to resume right after this micro-batch. */
  next: C;
  /** Streaming with several ranks: the global micro-batch's blocks the other ranks train on. */
  others?: number[];
}

export interface MapOrderOptions {
  blocks: number;
  batchSize: number;
  seed: number;
  keepOrder: boolean;
  rank?: number;
  worldSize?: number;
}

export function* mapMicroBatches(o: MapOrderOptions, from: MapCursor): Generator<MicroBatchRows<MapCursor>, never, undefined> {
  if (o.blocks === 0) throw new Error('internal: no training blocks');
  // A re-based resume shifts the grid of its first epoch (src/train/cursor-rebase.ts).
  const firstMicroPerEpoch = rankShare(o.blocks, o.batchSize, o.rank ?? 0, o.worldSize ?? 1, from.shift ?? 0).microPerEpoch;
  if (from.micro > firstMicroPerEpoch) throw new PtflowError(`data cursor micro-batch ${from.micro} is past the ${firstMicroPerEpoch} of an epoch: the checkpoint was written for other data`, 2);
  let cursor: MapCursor = from;
  for (;;) {
    const order = epochOrder(o.blocks, cursor.epoch, o.seed, o.keepOrder);
    const shift = cursor.shift ?? 0;
    const share = rankShare(o.blocks, o.batchSize, o.rank ?? 0, o.worldSize ?? 1, shift);
    const microPerEpoch = share.microPerEpoch;
    for (let micro = cursor.micro; micro < microPerEpoch; micro++) {
      const rows: number[] = [];
      const { start, end } = share.slice(micro);
      for (let k = start; k < end; k++) rows.push(order[k]);
      const last = micro === microPerEpoch - 1;
      const next: MapCursor = last ? { epoch: cursor.epoch + 1, micro: 0 } : { epoch: cursor.epoch, micro: micro + 1, ...(shift ? { shift } : {}) };
      yield { epoch: cursor.epoch, micro, microPerEpoch, last, rows, next };
    }
    cursor = { epoch: cursor.epoch + 1, micro: 0 };
  }
}

export interface StreamOrderOptions {
  blocks: number;
  /** Rows per rank of each micro-batch. */
  batchSize: number;
  bufferSize: number;
  seed: number;
  rank?: number;
  worldSize?: number;
}

/** The cursor a streamed run over a cache starts from. */
export function streamStart(o: StreamOrderOptions): CacheStreamCursor {
  return {
    kind: 'cache-stream', epoch: 0, read: 0, micro: 0,
    buffer: { rng: new Rng(o.seed, 0).state(), phase: 'fill', slots: [] },
    check: { blocks: o.blocks, buffer_size: o.bufferSize, seed: o.seed },
  };
}

export function* streamMicroBatches(
  o: StreamOrderOptions,
  from: CacheStreamCursor,
  load: (block: number) => void,
): Generator<MicroBatchRows<CacheStreamCursor>, never, undefined> {
  const check = { blocks: o.blocks, buffer_size: o.bufferSize, seed: o.seed };
  if (from.check.blocks !== check.blocks || from.check.buffer_size !== check.buffer_size || from.check.seed !== check.seed) {
    throw new PtflowError(
      `the checkpoint's data cursor was made for ${from.check.blocks} blocks, buffer_size ${from.check.buffer_size}, seed ${from.check.seed}; ` +
        `this run has ${check.blocks}, ${check.buffer_size}, ${check.seed}: resume with the same data and settings`,
      2,
    );
  }
  if (from.read > o.blocks || from.buffer.slots.some((s) => s >= o.blocks)) throw new PtflowError('the checkpoint\'s data cursor names blocks past the end of the cache', 2);
  const rank = o.rank ?? 0;
  const worldSize = o.worldSize ?? 1;
  rankShare(o.blocks, o.batchSize, rank, worldSize); // validates rank, world size and batch size
  const globalBatch = o.batchSize * worldSize;
  const microPerEpoch = Math.ceil(o.blocks / globalBatch);
  let epoch = from.epoch;
  let read = from.read;
  let micro = from.micro;
  let buffer = ShuffleBuffer.restore<number>(o.bufferSize, Rng.fromState(from.buffer.rng), from.buffer.phase, [...from.buffer.slots]);
  for (const s of from.buffer.slots) load(s);
  let rows: number[] = [];
  // Every epoch has exactly microPerEpoch micro-batches (the last one short), and `micro` counts them all.
  let epochMicro = micro - epoch * microPerEpoch;
  if (epochMicro < 0 || epochMicro >= microPerEpoch) throw new PtflowError(`the checkpoint's data cursor (micro-batch ${micro} in epoch ${epoch}) does not fit ${microPerEpoch} micro-batches per epoch`, 2);
  const cursorNow = (): CacheStreamCursor => ({
    kind: 'cache-stream', epoch, read, micro,
    buffer: { rng: buffer.rng.state(), phase: buffer.phase, slots: [...buffer.items] },
    check,
  });
  const batch = (last: boolean): MicroBatchRows<CacheStreamCursor> => {
    const r = rows;
    rows = [];
    micro++;
    const mine = worldSize === 1 ? r : rankSlice(r, o.batchSize, rank);
    const mb: MicroBatchRows<CacheStreamCursor> = { epoch, micro: epochMicro, microPerEpoch, last, rows: mine, next: null as unknown as CacheStreamCursor };
    if (worldSize > 1) mb.others = r.filter((_, k) => k < rank * o.batchSize || k >= (rank + 1) * o.batchSize);
    epochMicro++;
    return mb;
  };
  for (;;) {
    while (read < o.blocks) {
      load(read);
      const out = buffer.push(read++);
      if (out === undefined) continue;
      rows.push(out);
      if (rows.length === globalBatch) {
        const mb = batch(false);
        mb.next = cursorNow();
        yield mb;
      }
    }
    buffer.end();
    for (let x = buffer.pop(); x !== undefined; x = buffer.pop()) {
      rows.push(x);
      if (rows.length === globalBatch && buffer.length > 0) {
        const mb = batch(false);
        mb.next = cursorNow();
        yield mb;
      }
    }
    // the epoch's last micro-batch (possibly short); the next epoch starts with a fresh buffer
    const mb = batch(true);
    epoch++;
    read = 0;
    epochMicro = 0;
    buffer = new ShuffleBuffer<number>(o.bufferSize, new Rng(o.seed, epoch));
    mb.next = cursorNow();
    yield mb;
  }
}
