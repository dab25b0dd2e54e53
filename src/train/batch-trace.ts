/**
 * Test/diagnostic hook: with PTFLOW_TRACE_BATCHES=<file>, the trainer appends one JSON line per
 * consumed micro-batch — its step, place in the epoch, an FNV-1a checksum of its input ids and one of
 * each row's (`row_sums`: a block's identity whatever batch it travels in; none for a rank's empty
 * share) — so tests can prove that an interrupted and resumed run consumed exactly the blocks, in
 * exactly the order, of an uninterrupted one, and that data-parallel ranks together consume the rows
 * one process does. Off (no cost) when the variable is unset.
 */
import { appendFileSync } from 'node:fs';
import type { MicroBatch } from '../engine/batch';

const file = process.env.PTFLOW_TRACE_BATCHES;

export function fnv1a(ids: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) {
    let v = ids[i];
    for (let k = 0; k < 4; k++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      v >>>= 8;
    }
  }
  return h >>> 0;
}

export function traceBatches(step: number, micro: readonly MicroBatch[], meta: unknown): void {
  if (!file) return;
  const rowSums = (b: MicroBatch): number[] =>
    b.attentionMask.every((v) => v === 0) ? [] : Array.from({ length: b.batchSize }, (_, r) => fnv1a(b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen)));
  const lines = micro.map((b) => JSON.stringify({ step, sum: fnv1a(b.inputIds), rows: b.batchSize, row_sums: rowSums(b), meta })).join('\n');
  appendFileSync(file, lines + '\n');
}
