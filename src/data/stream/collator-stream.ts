/**
 * The streaming path of CollatorActor (`streaming: true`): TokenizedDocs in (eval documents first, then
 * training documents forever), TrainBatch out. Evaluation documents are packed and sent as soon as the
 * first training document arrives (the trainer reads the whole eval set before its first step); then
 * each training micro-batch is sent the moment it is full, with meta `{epoch, micro, microPerEpoch:
 * null, blocks: null, lastInEpoch: false, tokens, cursor}` — the cursor resumes right after it.
 *
 * Memory: the eval rows, fewer than one micro-batch of rows, and one block of carry-over.
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
import { Packer } from '../packer';
import type { StreamDocsMeta } from './shard-stream';
import { StreamBatcher } from './stream-batcher';

export interface StreamCollatorParams {
  cutoff_len: number;
  packing: boolean;
  neat_packing: boolean;
  add_bos: boolean;
  bos_id: number | null;
  pad_id: number;
  train_batch_size: number;
  eval_batch_size: number;
  train: boolean;
  resume: StreamCursor | null;
}

export interface BatchIn {
  payload: ArrayBuffer;
  meta: JsonValue;
}

export interface BatchOut {
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
  end(meta?: JsonValue): void;
}

export async function runStreamCollator(
  input: AsyncIterable<BatchIn>,
  evalOut: BatchOut,
  trainOut: BatchOut | null,
  p: StreamCollatorParams,
): Promise<{ eval_blocks: number; micro_batches: number }> {
  const bosId = p.add_bos && p.bos_id !== null ? p.bos_id : undefined;
  const evalPacker = p.packing ? new Packer(p.cutoff_len, { bosId, trackSegments: p.neat_packing }) : null;
  let evalRows: Row[] | null = [];
  let evalBlocks = 0;
  const flushEval = async (): Promise<void> => {
    if (!evalRows) return;
    evalPacker?.flush();
    for (let i = 0; i < evalRows.length; i += p.eval_batch_size) {
      await evalOut.send(encodeTrainBatch(collate(evalRows.slice(i, i + p.eval_batch_size), p.pad_id)), null);
    }
    evalBlocks = evalRows.length;
    evalRows = null;
    evalOut.end();
  };
  const batcher = new StreamBatcher(
    { cutoffLen: p.cutoff_len, packing: p.packing, bosId, trackSegments: p.neat_packing, batchSize: p.train_batch_size },
    p.resume,
  );
  let micro = 0;
  for await (const m of input) {
    const meta = m.meta as unknown as StreamDocsMeta;
    const docs = decodeTokenizedDocs(m.payload).inputIds;
    if (meta.split === 'eval') {
      if (!evalRows) throw new Error('stream collator: an eval batch after training batches');
      for (const ids of docs) {
        if (evalPacker) for (const b of evalPacker.push(ids)) evalRows.push(b);
        else evalRows.push(ids);
      }
      continue;
    }
    await flushEval();
    if (!trainOut || !meta.state) continue;
    for (const r of batcher.add(docs, meta.state, meta.epoch)) {
      const batch = collate(r.rows, p.pad_id);
      let tokens = 0;
      for (const v of batch.attentionMask) tokens += v;
      const out: TrainBatchMeta = {
        epoch: r.epoch, micro: r.cursor.micro - 1, microPerEpoch: null, lastInEpoch: false, blocks: null, tokens, cursor: r.cursor,
      };
      await trainOut.send(encodeTrainBatch(batch), out as unknown as JsonValue);
      micro++;
    }
  }
  await flushEval();
  trainOut?.end();
  return { eval_blocks: evalBlocks, micro_batches: micro };
}
