/**
 * The streaming path of CollatorActor (`streaming: true`): TokenizedDocs in (eval documents first, then
 * training documents forever), TrainBatch out. Evaluation documents are packed and sent as soon as the
 * first training document arrives (the trainer reads the whole eval set before its first step); then
 * each training micro-batch is sent the moment it is full, with meta `{epoch, micro, microPerEpoch:
 * null, blocks: null, lastInEpoch: false, tokens, cursor}` — the cursor resumes right after it.
 *
 * Memory: the eval rows, fewer than one micro-batch of rows, and one block of carry-over.
 *
 * Data-parallel (`world_size` > 1): every rank reads, shuffles, tokenizes and packs the whole stream
 * the same way, and the batcher cuts global micro-batches of train_batch_size × world_size rows —
 * exactly the micro-batches one process with that batch size makes. Rank r sends rows
 * [r·train_batch_size, (r+1)·train_batch_size) of each (epoch-order.ts rankSlice). The cursor is the
 * global one (its `micro` counts global micro-batches), so it does not depend on how the global batch
 * is split over ranks.
 *
 * With `microPerEpoch: null` the trainer plans on `max_steps` alone and reports epoch = step / max_steps
 * (HF's value for an iterable dataset of unknown length); trainer_state.json's `num_train_epochs` is 1
 * (HF writes sys.maxsize there, the "Num Epochs = 9223372036854775807" users find confusing).
 * `lastInEpoch` is always false: a stream's epoch end is not known ahead, so `eval_strategy: epoch` /
 * `save_strategy: epoch` never fire in a streamed run; use steps.
 */
import type { JsonValue } from '../../../schemas/ports';
import type { StreamCursor } from '../../../schemas/stream-cursor';
import { decodeTokenizedDocs } from '../../../schemas/tokenized-docs';
import { encodeTrainBatch } from '../../../schemas/train-batch';
import type { TrainBatchMeta } from '../../../schemas/train-batch-meta';
import { collate, type Row } from '../collate';
import { rankSlice } from '../epoch-order';
import { blockBosId, type CollatorPackingParams } from '../collator-params';
import { evalRowsOf, sendEvalBatches } from '../eval-batches';
import { Packer, type PackerState } from '../packer';
import type { StreamDocsMeta } from './shard-stream';
import { StreamBatcher, type BatcherSnapshot } from './stream-batcher';

export interface StreamCollatorParams extends CollatorPackingParams {
  resume: StreamCursor | null;
  /** Data-parallel: this rank's slice of each global micro-batch (absent: rank 0 of 1). */
  rank?: number;
  world_size?: number;
}

export interface BatchIn {
  payload: ArrayBuffer;
  meta: JsonValue;
}

export interface BatchOut {
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
  end(meta?: JsonValue): void;
}

/**
 * What survives a restart of the collator (the stage runs again in the same worker, its unacknowledged
 * input re-delivered): the packing state after every acknowledged message, a snapshot from before the
 * message in work, and how many batches went out — so the re-delivered message is packed again from the
 * same state and the micro-batches it had already sent are not sent twice.
 */
export interface StreamCollatorMemory {
  batcher: StreamBatcher;
  evalPacker: Packer | null;
  evalRows: Row[] | null;
  evalSent: number;
  evalEnded: boolean;
  evalBlocks: number;
  trainSent: number;
  before: { batcher: BatcherSnapshot; evalPacker: PackerState | null; evalRows: number; trainSent: number } | null;
  handled: number;
}

export function newStreamCollatorMemory(p: StreamCollatorParams): StreamCollatorMemory {
  const bosId = blockBosId(p);
  return {
    batcher: new StreamBatcher(
      { cutoffLen: p.cutoff_len, packing: p.packing, bosId, trackSegments: p.neat_packing, batchSize: p.train_batch_size * (p.world_size ?? 1) },
      p.resume,
    ),
    evalPacker: p.packing ? new Packer(p.cutoff_len, { bosId, trackSegments: p.neat_packing }) : null,
    evalRows: [], evalSent: 0, evalEnded: false, evalBlocks: 0, trainSent: 0, before: null, handled: 0,
  };
}

/**
 * Runs until the input ends (the shard ends only in an eval-only run; otherwise the trainer stops the
 * run). `mem` carries state across restarts; `beforeMessage(n)` runs before handling the n-th input
 * message (1-based; fault hooks).
 */
export async function runStreamCollator(
  input: AsyncIterable<BatchIn>,
  evalOut: BatchOut,
  trainOut: BatchOut | null,
  p: StreamCollatorParams,
  mem: StreamCollatorMemory = newStreamCollatorMemory(p),
  beforeMessage: (n: number) => void = () => undefined,
): Promise<{ eval_blocks: number; micro_batches: number }> {
  let skip = 0; // micro-batches of the re-delivered message that were sent before the failure
  if (mem.before) {
    mem.batcher.restore(mem.before.batcher);
    if (mem.evalPacker && mem.before.evalPacker) mem.evalPacker.restore(mem.before.evalPacker);
    if (mem.evalRows) mem.evalRows.length = mem.before.evalRows;
    skip = mem.trainSent - mem.before.trainSent;
    mem.trainSent = mem.before.trainSent;
    mem.before = null;
  }
  const flushEval = async (): Promise<void> => {
    if (mem.evalEnded || !mem.evalRows) return;
    mem.evalPacker?.flush();
    const rows = mem.evalRows;
    await sendEvalBatches(evalOut, evalRowsOf(rows), { batchSize: p.eval_batch_size, padId: p.pad_id, alreadySent: mem.evalSent }, () => mem.evalSent++);
    mem.evalBlocks = rows.length;
    mem.evalEnded = true;
    evalOut.end();
  };
  for await (const m of input) {
    mem.before = {
      batcher: mem.batcher.snapshot(), evalPacker: mem.evalPacker?.state() ?? null, evalRows: mem.evalRows?.length ?? 0, trainSent: mem.trainSent,
    };
    beforeMessage(++mem.handled);
    const meta = m.meta as unknown as StreamDocsMeta;
    const docs = decodeTokenizedDocs(m.payload).inputIds;
    if (meta.split === 'eval') {
      if (mem.evalEnded || !mem.evalRows) throw new Error('stream collator: an eval batch after training batches');
      for (const ids of docs) {
        if (mem.evalPacker) for (const b of mem.evalPacker.push(ids)) mem.evalRows.push(b);
        else mem.evalRows.push(ids);
      }
    } else {
      await flushEval();
      if (trainOut && meta.state) {
        for (const r of mem.batcher.add(docs, meta.state, meta.epoch, meta.steps)) {
          if (skip > 0) {
            skip--;
            mem.trainSent++;
            continue;
          }
          const batch = collate(rankSlice(r.rows, p.train_batch_size, p.rank ?? 0), p.pad_id);
          let tokens = 0;
          for (const v of batch.attentionMask) tokens += v;
          const out: TrainBatchMeta = {
            epoch: r.epoch, micro: r.cursor.micro - 1, microPerEpoch: null, lastInEpoch: false, blocks: null, tokens, cursor: r.cursor,
          };
          await trainOut.send(encodeTrainBatch(batch), out as unknown as JsonValue);
          mem.trainSent++;
        }
      }
    }
    mem.before = null;
  }
  await flushEval();
  trainOut?.end();
  return { eval_blocks: mem.evalBlocks, micro_batches: mem.trainSent };
}
