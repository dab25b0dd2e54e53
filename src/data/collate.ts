/**
 * Collation: rows (packed blocks or truncated documents) → one micro-batch for the engine
 * (`MicroBatch`, src/engine/batch.ts), as HF's DataCollatorForLanguageModeling(mlm=False) with
 * LLaMA-Factory's right padding:
 *
 *   collate(rows, padId) → MicroBatch
 *
 * Rows are right-padded to the longest with `padId` (the tokenizer's pad, else EOS), attention mask 0
 * on pads, labels = input ids with −100 where the attention mask is 0. ptflow masks by the attention
 * mask, not by pad id (HF's way), so EOS stays a learned target when pad == eos. Segment and position
 * ids are carried when the rows have them (pads get segment 0, position 0).
 */
import { PtflowError } from '../errors';
import type { MicroBatch } from '../engine/batch';
import type { PackedBlock } from './packer';

export { IGNORE_INDEX } from '../../schemas/train-batch';
import { IGNORE_INDEX } from '../../schemas/train-batch';

/** A row to batch: a packed block, or a document's token ids. */
export type Row = Int32Array | PackedBlock;

function parts(row: Row): PackedBlock {
  return row instanceof Int32Array ? { inputIds: row } : row;
}

export function collate(rows: readonly Row[], padId: number): MicroBatch {
  if (rows.length === 0) throw new PtflowError('collate: no rows to batch');
  if (!Number.isInteger(padId) || padId < 0) throw new PtflowError(`collate: pad id must be a non-negative integer, got ${padId}`);
  const ps = rows.map(parts);
  const batchSize = ps.length;
  let seqLen = 0;
  for (const p of ps) seqLen = Math.max(seqLen, p.inputIds.length);
  if (seqLen === 0) throw new PtflowError('collate: every row is empty');
  const withSeg = ps.some((p) => p.segmentIds !== undefined);
  const withPos = ps.some((p) => p.positionIds !== undefined);

  const n = batchSize * seqLen;
  const inputIds = new Int32Array(n).fill(padId);
  const attentionMask = new Int32Array(n);
  const labels = new Int32Array(n).fill(IGNORE_INDEX);
  const segmentIds = withSeg ? new Int32Array(n) : undefined;
  const positionIds = withPos ? new Int32Array(n) : undefined;
  for (let r = 0; r < batchSize; r++) {
    const p = ps[r];
    const len = p.inputIds.length;
    const base = r * seqLen;
    for (const [name, arr] of [['segmentIds', p.segmentIds], ['positionIds', p.positionIds]] as const) {
      if (arr !== undefined && arr.length !== len) {
        throw new PtflowError(`collate: row ${r} has ${len} input ids but ${arr.length} ${name}`);
      }
    }
    inputIds.set(p.inputIds, base);
    labels.set(p.inputIds, base);
    attentionMask.fill(1, base, base + len);
    if (segmentIds) {
      if (p.segmentIds) segmentIds.set(p.segmentIds, base);
      else segmentIds.fill(1, base, base + len);
    }
    if (positionIds) {
      if (p.positionIds) positionIds.set(p.positionIds, base);
      else for (let t = 0; t < len; t++) positionIds[base + t] = t;
    }
  }
  const batch: MicroBatch = { batchSize, seqLen, inputIds, labels, attentionMask };
  if (positionIds) batch.positionIds = positionIds;
  if (segmentIds) batch.segmentIds = segmentIds;
  return batch;
}

/**
 * What a data-parallel rank trains on when its slice of a global micro-batch is empty (the short last
 * micro-batch of an epoch, src/data/epoch-order.ts rankShare): one pad with attention mask 0 and no
 * label. It keeps the rank's micro-batches aligned with the other ranks' (same count per step, same
 * epoch ends); the trainer takes no forward pass on it (no label) and counts none of its tokens. A
 * collated batch is never like it: collate refuses empty rows, and a row's tokens have mask 1.
 */
export function emptyShareBatch(padId: number): MicroBatch {
  return { batchSize: 1, seqLen: 1, inputIds: Int32Array.of(padId), attentionMask: Int32Array.of(0), labels: Int32Array.of(IGNORE_INDEX) };
}

export function isEmptyShare(b: MicroBatch): boolean {
  return b.batchSize === 1 && b.seqLen === 1 && b.attentionMask[0] === 0;
}
