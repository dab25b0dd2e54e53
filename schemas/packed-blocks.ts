/**
 * PackedBlocks: token blocks of exactly `cutoff_len`, ready to batch.
 *
 *   input_ids     FixedSizeList<Int32>[cutoff_len]
 *   segment_ids   FixedSizeList<Int32>[cutoff_len]   optional: document index inside the block (1, 2, …)
 *   position_ids  FixedSizeList<Int32>[cutoff_len]   optional: restarting at every document start
 *
 * encodePackedBlocks(blocks, { cutoffLen? }) → ArrayBuffer
 * decodePackedBlocks(bytes) → { cutoffLen, numBlocks, inputIds (flat view), segmentIds?, positionIds?, blocks }
 */
import { PtflowError } from '../src/errors';
import type { PackedBlock } from '../src/data/packer';
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

export interface PackedBlocksBatch {
  cutoffLen: number;
  numBlocks: number;
  /** numBlocks × cutoffLen, row-major, a view on the message buffer. */
  inputIds: Int32Array;
  segmentIds?: Int32Array;
  positionIds?: Int32Array;
  /** Per-block views. */
  blocks: PackedBlock[];
}

function flatten(blocks: readonly PackedBlock[], key: keyof PackedBlock, width: number): Int32Array | undefined {
  const present = blocks.filter((b) => b[key] !== undefined).length;
  if (present === 0) return undefined;
  if (present !== blocks.length) throw new PtflowError(`PackedBlocks message: only ${present} of ${blocks.length} blocks have ${key}`);
  const out = new Int32Array(blocks.length * width);
  blocks.forEach((b, i) => {
    const a = b[key] as Int32Array;
    if (a.length !== width) throw new PtflowError(`PackedBlocks message: block ${i} ${key} has ${a.length} tokens, expected ${width}`);
    out.set(a, i * width);
  });
  return out;
}

export function encodePackedBlocks(blocks: readonly PackedBlock[], opts: { cutoffLen?: number } = {}): ArrayBuffer {
  const width = opts.cutoffLen ?? blocks[0]?.inputIds.length;
  if (width === undefined || width < 1) throw new PtflowError('PackedBlocks message: no blocks and no cutoffLen');
  const n = blocks.length;
  const columns: Column[] = [{ name: 'input_ids', data: fixedSizeListData(flatten(blocks, 'inputIds', width) ?? new Int32Array(0), n, width) }];
  const seg = flatten(blocks, 'segmentIds', width);
  if (seg) columns.push({ name: 'segment_ids', data: fixedSizeListData(seg, n, width) });
  const pos = flatten(blocks, 'positionIds', width);
  if (pos) columns.push({ name: 'position_ids', data: fixedSizeListData(pos, n, width) });
  return encodeMessage('PackedBlocks', n, columns);
}

export function decodePackedBlocks(payload: ArrayBuffer | Uint8Array): PackedBlocksBatch {
  const msg = decodeMessage('PackedBlocks', payload);
  const n = msg.length;
  const get = (name: string): { values: Int32Array; width: number } | undefined =>
    optionalColumn(msg, name) || name === 'input_ids'
      ? fixedSizeListValues(column(msg, 'PackedBlocks', name, isFixedSizeListInt32, 'FixedSizeList<Int32>'), n)
      : undefined;
  const ids = get('input_ids')!;
  const seg = get('segment_ids');
  const pos = get('position_ids');
  const width = ids.width;
  for (const [name, c] of [['segment_ids', seg], ['position_ids', pos]] as const) {
    if (c && c.width !== width) throw new PtflowError(`PackedBlocks message: ${name} has width ${c.width}, input_ids ${width}`);
  }
  const blocks: PackedBlock[] = [];
  for (let i = 0; i < n; i++) {
    const s = i * width;
    const b: PackedBlock = { inputIds: ids.values.subarray(s, s + width) };
    if (seg) b.segmentIds = seg.values.subarray(s, s + width);
    if (pos) b.positionIds = pos.values.subarray(s, s + width);
    blocks.push(b);
  }
  const out: PackedBlocksBatch = { cutoffLen: width, numBlocks: n, inputIds: ids.values, blocks };
  if (seg) out.segmentIds = seg.values;
  if (pos) out.positionIds = pos.values;
  return out;
}
