/**
 * The evaluation set on the `eval` edge: rows cut in order into batches of `eval_batch_size`, each
 * collated (collate.ts) and sent as one TrainBatch. Every collator (map-style, from the token cache,
 * streamed) sends its evaluation rows this way. A restarted actor passes the number of batches that
 * went out before (its eval output's `stats.messages`) and sends only the rest.
 */
import { encodeTrainBatch } from '../../schemas/train-batch';
import type { JsonValue } from '../../schemas/ports';
import { collate, type Row } from './collate';

/** Where batches go: an OutPort, or anything that sends like one (tests). */
export interface BatchSink {
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
}

export interface EvalRows {
  count: number;
  row(i: number): Row;
}

/** `rows` as EvalRows. */
export const evalRowsOf = (rows: readonly Row[]): EvalRows => ({ count: rows.length, row: (i) => rows[i] });

/** Sends batches `alreadySent`, … of `rows`; `onSent` after each one. */
export async function sendEvalBatches(
  out: BatchSink,
  rows: EvalRows,
  o: { batchSize: number; padId: number; alreadySent: number },
  onSent?: () => void,
): Promise<void> {
  for (let i = o.alreadySent * o.batchSize; i < rows.count; i += o.batchSize) {
    const batch: Row[] = [];
    for (let j = i; j < Math.min(rows.count, i + o.batchSize); j++) batch.push(rows.row(j));
    await out.send(encodeTrainBatch(collate(batch, o.padId)), null);
    onSent?.();
  }
}
