/**
 * TrainBatch: one micro-batch as the engine consumes it (`MicroBatch`, src/engine/batch.ts).
 *
 *   input_ids       FixedSizeList<Int32>[seq_len]   one row per sequence, right-padded
 *   attention_mask  FixedSizeList<Int32>[seq_len]   1 = real token
 *   labels          FixedSizeList<Int32>[seq_len]   −100 = ignored
 *   position_ids    FixedSizeList<Int32>[seq_len]   optional
 *   segment_ids     FixedSizeList<Int32>[seq_len]   optional
 *
 * encodeTrainBatch(batch) → ArrayBuffer
 * decodeTrainBatch(bytes) → MicroBatch: every array is a view on the message buffer.
 * The pipeline's per-message JSON meta (`TrainBatchMeta`) travels beside the bytes on the edge.
 */
import { PtflowError } from '../src/errors';
import type { MicroBatch } from '../src/engine/batch';
import {
  column,
  decodeMessage,
  encodeMessage,
  fixedSizeListData,
  fixedSizeListValues,
  isFixedSizeListInt32,
  optionalColumn,
  type Column,
} from './arrow-ipc';

export type { DataCursor, TrainBatchMeta } from './train-batch-meta';

/** The `labels` value of a position that takes no part in the loss (HF's ignore index). */
export const IGNORE_INDEX = -100;

const COLUMNS = [
  ['input_ids', 'inputIds'],
  ['attention_mask', 'attentionMask'],
  ['labels', 'labels'],
  ['position_ids', 'positionIds'],
  ['segment_ids', 'segmentIds'],
] as const;
const REQUIRED = new Set(['input_ids', 'attention_mask', 'labels']);

export function encodeTrainBatch(batch: MicroBatch): ArrayBuffer {
  const { batchSize, seqLen } = batch;
  if (!Number.isInteger(batchSize) || !Number.isInteger(seqLen) || batchSize < 1 || seqLen < 1) {
    throw new PtflowError(`TrainBatch message: invalid shape ${batchSize} × ${seqLen}`);
  }
  const columns: Column[] = [];
  for (const [name, key] of COLUMNS) {
    const arr = batch[key];
    if (arr === undefined) continue;
    if (arr.length !== batchSize * seqLen) {
      throw new PtflowError(`TrainBatch message: ${key} has ${arr.length} values, expected ${batchSize} × ${seqLen}`);
    }
    columns.push({ name, data: fixedSizeListData(arr, batchSize, seqLen) });
  }
  return encodeMessage('TrainBatch', batchSize, columns);
}

export function decodeTrainBatch(payload: ArrayBuffer | Uint8Array): MicroBatch {
  const msg = decodeMessage('TrainBatch', payload);
  const batchSize = msg.length;
  if (batchSize === 0) throw new PtflowError('TrainBatch message: no rows');
  const out: Partial<Record<(typeof COLUMNS)[number][1], Int32Array>> = {};
  let seqLen = -1;
  for (const [name, key] of COLUMNS) {
    if (!REQUIRED.has(name) && !optionalColumn(msg, name)) continue;
    const { values, width } = fixedSizeListValues(column(msg, 'TrainBatch', name, isFixedSizeListInt32, 'FixedSizeList<Int32>'), batchSize);
    if (seqLen === -1) seqLen = width;
    else if (width !== seqLen) throw new PtflowError(`TrainBatch message: column "${name}" has width ${width}, input_ids ${seqLen}`);
    out[key] = values;
  }
  const batch: MicroBatch = {
    batchSize,
    seqLen,
    inputIds: out.inputIds!,
    attentionMask: out.attentionMask!,
    labels: out.labels!,
  };
  if (out.positionIds) batch.positionIds = out.positionIds;
  if (out.segmentIds) batch.segmentIds = out.segmentIds;
  return batch;
}
