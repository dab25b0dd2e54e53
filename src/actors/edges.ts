/**
 * The edge kinds of the actor API and their Arrow schemas (schemas/raw-docs.ts, tokenized-docs.ts,
 * train-batch.ts): IPC bytes ↔ RecordBatch, the contract check a step's output must pass, and the
 * small readers / builders a step uses instead of poking at Arrow vectors.
 *
 *   docs     doc_id Int64, source Dictionary<Utf8>, text Utf8
 *   tokens   doc_id Int64, input_ids List<Int32>
 *   batches  input_ids, attention_mask, labels (FixedSizeList<Int32>), optional position_ids, segment_ids
 */
import { Dictionary, FixedSizeList, Int32, Int64, List, RecordBatch, Schema, Table, Utf8, tableFromIPC, tableToIPC, type DataType } from 'apache-arrow';
import { SCHEMA_KEY, SCHEMA_VERSION, VERSION_KEY, type MessageType } from '../../schemas/arrow-ipc';
import { encodeRawDocs } from '../../schemas/raw-docs';
import { decodeTokenizedDocs, encodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { decodeTrainBatch, encodeTrainBatch } from '../../schemas/train-batch';
import type { MicroBatch } from '../engine/batch';
import type { EdgeKind } from './api';

export const EDGE_SCHEMA: Record<EdgeKind, MessageType> = { docs: 'RawDocs', tokens: 'TokenizedDocs', batches: 'TrainBatch' };

const isInt32 = (t: DataType): boolean => Int32.isInt(t) && (t as Int32).bitWidth === 32 && (t as Int32).isSigned;
const isInt64 = (t: DataType): boolean => Int64.isInt(t) && (t as Int64).bitWidth === 64 && (t as Int64).isSigned;
const isFsl32 = (t: DataType): boolean => FixedSizeList.isFixedSizeList(t) && isInt32(t.children[0].type);

interface FieldRule {
  name: string;
  ok: (t: DataType) => boolean;
  expected: string;
  optional?: boolean;
}

const FIELDS: Record<EdgeKind, FieldRule[]> = {
  docs: [
    { name: 'doc_id', ok: isInt64, expected: 'Int64' },
    { name: 'source', ok: (t) => Dictionary.isDictionary(t) && Utf8.isUtf8((t as Dictionary).dictionary), expected: 'Dictionary<Int32, Utf8>' },
    { name: 'text', ok: (t) => Utf8.isUtf8(t), expected: 'Utf8' },
  ],
  tokens: [
    { name: 'doc_id', ok: isInt64, expected: 'Int64' },
    { name: 'input_ids', ok: (t) => List.isList(t) && isInt32(t.children[0].type), expected: 'List<Int32>' },
  ],
  batches: [
    { name: 'input_ids', ok: isFsl32, expected: 'FixedSizeList<Int32>' },
    { name: 'attention_mask', ok: isFsl32, expected: 'FixedSizeList<Int32>' },
    { name: 'labels', ok: isFsl32, expected: 'FixedSizeList<Int32>' },
    { name: 'position_ids', ok: isFsl32, expected: 'FixedSizeList<Int32>', optional: true },
    { name: 'segment_ids', ok: isFsl32, expected: 'FixedSizeList<Int32>', optional: true },
  ],
};

/** A RecordBatch, also one made by another copy of apache-arrow (a user's module may bring its own). */
export function isRecordBatch(v: unknown): v is RecordBatch {
  return typeof v === 'object' && v !== null && typeof (v as RecordBatch).numRows === 'number' && typeof (v as RecordBatch).schema === 'object' && 'data' in v;
}

/** Why `batch` is not a batch of edge `kind` (naming the field), or null when it is. */
export function contractViolation(batch: unknown, kind: EdgeKind): string | null {
  if (!isRecordBatch(batch)) {
    const what = batch === null ? 'null' : Array.isArray(batch) ? 'an array inside the returned array' : typeof batch === 'object' ? (batch as object).constructor?.name ?? 'an object' : typeof batch;
    return `returned ${what} where an Arrow RecordBatch of the ${kind} edge (${EDGE_SCHEMA[kind]}) was expected`;
  }
  for (const f of FIELDS[kind]) {
    const field = batch.schema.fields.find((x) => x.name === f.name);
    if (!field) {
      if (f.optional) continue;
      return `field '${f.name}' is missing (the ${kind} edge carries ${EDGE_SCHEMA[kind]}: ${FIELDS[kind].filter((r) => !r.optional).map((r) => r.name).join(', ')})`;
    }
    if (!f.ok(field.type)) return `field '${f.name}' is ${String(field.type)}, the ${kind} edge needs ${f.expected}`;
    if (field.nullable && batch.getChild(f.name)!.nullCount > 0) return `field '${f.name}' holds nulls`;
  }
  if (kind === 'batches' && batch.numRows > 0) {
    const widths = FIELDS.batches
      .filter((f) => batch.schema.fields.some((x) => x.name === f.name))
      .map((f) => (batch.schema.fields.find((x) => x.name === f.name)!.type as FixedSizeList).listSize);
    if (new Set(widths).size > 1) return `fields of the batches edge have different lengths (${widths.join(', ')})`;
  }
  return null;
}

/** Edge bytes → the RecordBatch a step's `process` gets (column buffers are views, no copy). */
export function batchFromIpc(payload: ArrayBuffer): RecordBatch {
  const table = tableFromIPC(new Uint8Array(payload));
  if (table.batches.length === 1) return table.batches[0];
  // An empty message may decode to no batch at all.
  return new RecordBatch(table.schema, undefined as never);
}

/** A step's output batch → edge bytes, stamped with the edge's schema name (what the next actor checks). */
export function batchToIpc(batch: RecordBatch, kind: EdgeKind): ArrayBuffer {
  const meta = new Map(batch.schema.metadata);
  meta.set(SCHEMA_KEY, EDGE_SCHEMA[kind]);
  meta.set(VERSION_KEY, SCHEMA_VERSION);
  const schema = new Schema(batch.schema.fields, meta);
  const bytes = tableToIPC(new Table(new RecordBatch(schema, batch.data)), 'stream');
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}

// ---- readers and builders for steps ----------------------------------------------------------

export interface Doc {
  id: bigint;
  source: string;
  text: string;
}

/** The documents of a docs batch (read from its columns, no copy of the bytes). */
export function readDocs(batch: RecordBatch): Doc[] {
  const n = batch.numRows;
  if (n === 0) return [];
  const ids = batch.getChild('doc_id')!.toArray() as BigInt64Array;
  const sources = batch.getChild('source')!.toArray() as string[];
  const texts = batch.getChild('text')!.toArray() as string[];
  const docs: Doc[] = new Array(n);
  for (let i = 0; i < n; i++) docs[i] = { id: ids[i], source: sources[i], text: texts[i] };
  return docs;
}

/**
 * The texts of a docs batch as UTF-8 bytes: document i is `bytes[offsets[i], offsets[i + 1])` (views on
 * the batch's column, no copy, no string made) — for a step that reads bytes faster than strings.
 */
export function readTextBytes(batch: RecordBatch): { offsets: Int32Array; bytes: Uint8Array } {
  const col = batch.numRows === 0 ? null : batch.getChild('text');
  if (col === null || col.data.length === 0) return { offsets: new Int32Array(1), bytes: new Uint8Array(0) };
  const d = col.data[0];
  return { offsets: d.valueOffsets as Int32Array, bytes: d.values as Uint8Array };
}

/** A docs batch of `docs`. */
export function docsBatch(docs: readonly { id: number | bigint; source: string; text: string }[]): RecordBatch {
  return batchFromIpc(encodeRawDocs(docs.map((d) => ({ docId: d.id, source: d.source, text: d.text }))));
}

export interface TokenDoc {
  id: bigint;
  ids: Int32Array;
}

/** The tokenized documents of a tokens batch (token arrays are views on the batch). */
export function readTokens(batch: RecordBatch): TokenDoc[] {
  const d = decodeTokenizedDocs(batchToIpc(batch, 'tokens'));
  return d.inputIds.map((ids, i) => ({ id: d.docIds[i], ids }));
}

/** A tokens batch of `docs`. */
export function tokensBatch(docs: readonly { id: number | bigint; ids: Int32Array }[]): RecordBatch {
  return batchFromIpc(encodeTokenizedDocs(docs.map((d) => BigInt(d.id)), docs.map((d) => d.ids)));
}

/**
 * The rows of a batches batch as flat row-major arrays of rows × seq_len (`MicroBatch`): a copy, so a
 * step may change them and make a new batch of them with `trainBatch`.
 */
export function readTrainBatch(batch: RecordBatch): MicroBatch {
  return decodeTrainBatch(batchToIpc(batch, 'batches'));
}

/** A batches batch of `rows` (rows × seq_len arrays; position_ids and segment_ids optional). */
export function trainBatch(rows: MicroBatch): RecordBatch {
  return batchFromIpc(encodeTrainBatch(rows));
}
