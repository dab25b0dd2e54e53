/**
 * Shared helpers of the Arrow data messages (RawDocs, TokenizedDocs, PackedBlocks, TrainBatch):
 * build one RecordBatch from column Data, serialise it to IPC stream bytes (an ArrayBuffer that can be
 * transferred between threads), and decode it again with zero-copy typed-array views on that buffer.
 *
 * Every message's schema metadata carries `ptflow.schema` (the message type) and
 * `ptflow.schema_version`. Data positions (cursors) are not in the bytes: they travel beside them in
 * the edge message's JSON `meta` (schemas/ports.ts).
 */
import {
  Data,
  Field,
  FixedSizeList,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  makeData,
  tableFromIPC,
  tableToIPC,
  type DataType,
} from 'apache-arrow';
import { PtflowError } from '../src/errors';

export const SCHEMA_KEY = 'ptflow.schema';
export const VERSION_KEY = 'ptflow.schema_version';
export const SCHEMA_VERSION = '1';

export type MessageType = 'RawDocs' | 'TokenizedDocs' | 'PackedBlocks' | 'TrainBatch';

export interface Column {
  name: string;
  data: Data;
}

/** One RecordBatch of `columns` → IPC stream bytes in an ArrayBuffer of exactly that length. */
export function encodeMessage(type: MessageType, length: number, columns: Column[]): ArrayBuffer {
  const meta = new Map<string, string>([
    [SCHEMA_KEY, type],
    [VERSION_KEY, SCHEMA_VERSION],
  ]);
  const fields = columns.map((c) => new Field(c.name, c.data.type, false));
  const schema = new Schema(fields, meta);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children: columns.map((c) => c.data) });
  const bytes = tableToIPC(new Table(new RecordBatch(schema, struct)), 'stream');
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

export interface DecodedMessage {
  table: Table;
  length: number;
}

/** IPC bytes → the table of a message of `type`, checked. No copy of the column buffers. */
export function decodeMessage(type: MessageType, payload: ArrayBuffer | Uint8Array): DecodedMessage {
  const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new PtflowError(`${type} message: not an Arrow IPC stream (${(e as Error).message})`);
  }
  const meta = table.schema.metadata;
  const got = meta.get(SCHEMA_KEY);
  if (got !== type) throw new PtflowError(`${type} message: schema metadata says ${got === undefined ? 'nothing' : `"${got}"`}, expected "${type}"`);
  const version = meta.get(VERSION_KEY);
  if (version !== SCHEMA_VERSION) throw new PtflowError(`${type} message: schema version ${version}, this ptflow reads version ${SCHEMA_VERSION}`);
  if (table.batches.length > 1) throw new PtflowError(`${type} message: ${table.batches.length} record batches, expected one`);
  return { table, length: table.numRows };
}

/** The single Data chunk of a column, with its type checked. */
export function column(msg: DecodedMessage, type: MessageType, name: string, check: (t: DataType) => boolean, expected: string): Data {
  const vec = msg.table.getChild(name);
  if (!vec) throw new PtflowError(`${type} message: missing column "${name}"`);
  if (!check(vec.type)) throw new PtflowError(`${type} message: column "${name}" is ${String(vec.type)}, expected ${expected}`);
  if (vec.data.length === 0) {
    return makeData({ type: vec.type, length: 0, nullCount: 0 } as never);
  }
  return vec.data[0];
}

export function optionalColumn(msg: DecodedMessage, name: string): boolean {
  return msg.table.getChild(name) !== null;
}

// ---- Int32 columns -------------------------------------------------------------------------

export function int32Data(values: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
}

/** `rows × width` values as FixedSizeList<Int32>[width]. */
export function fixedSizeListData(values: Int32Array, rows: number, width: number): Data<FixedSizeList<Int32>> {
  if (values.length !== rows * width) throw new PtflowError(`FixedSizeList column: ${values.length} values for ${rows} rows × ${width}`);
  return makeData({
    type: new FixedSizeList(width, new Field('item', new Int32(), false)),
    length: rows,
    nullCount: 0,
    child: int32Data(values),
  });
}

export const isFixedSizeListInt32 = (t: DataType): boolean =>
  FixedSizeList.isFixedSizeList(t) && Int32.isInt(t.children[0].type) && (t.children[0].type as Int32).bitWidth === 32 && (t.children[0].type as Int32).isSigned;

/** Flat Int32Array view (rows × width) of a FixedSizeList<Int32> column; no copy for unsliced data. */
export function fixedSizeListValues(data: Data, rows: number): { values: Int32Array; width: number } {
  const width = (data.type as FixedSizeList).listSize;
  // In a decoded batch the child's values already start at this column's first value
  // (a slice offset is applied to the child, so it must not be applied again).
  const child = data.children[0];
  const values = (child.values as Int32Array).subarray(0, rows * width);
  return { values, width };
}
