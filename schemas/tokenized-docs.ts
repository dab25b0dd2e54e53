/**
 * TokenizedDocs: documents after tokenization (`text + eos_token`, no other special tokens).
 *
 *   doc_id     Int64
 *   input_ids  List<Int32>   one variable-length list per document
 *
 * encodeTokenizedDocs(docIds, inputIds) → ArrayBuffer
 * decodeTokenizedDocs(bytes) → { docIds, offsets, values, inputIds: Int32Array[] }: every
 * array is a view on the message buffer (no copy).
 */
import { Field, Int32, Int64, List, makeData } from 'apache-arrow';
import { PtflowError } from '../src/errors';
import { column, decodeMessage, encodeMessage, int32Data } from './arrow-ipc';
import { isInt64 } from './raw-docs';

export interface TokenizedDocsBatch {
  docIds: BigInt64Array;
  /** n + 1 offsets into `values`. */
  offsets: Int32Array;
  values: Int32Array;
  /** Per document: `values.subarray(offsets[i], offsets[i + 1])`. */
  inputIds: Int32Array[];
}

export function encodeTokenizedDocs(
  docIds: BigInt64Array | readonly (number | bigint)[],
  inputIds: readonly Int32Array[],
): ArrayBuffer {
  const n = inputIds.length;
  if (docIds.length !== n) throw new PtflowError(`TokenizedDocs message: ${docIds.length} doc ids for ${n} documents`);
  const ids = docIds instanceof BigInt64Array ? docIds : BigInt64Array.from(docIds, (d) => BigInt(d));
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + inputIds[i].length;
  const values = new Int32Array(offsets[n]);
  for (let i = 0; i < n; i++) values.set(inputIds[i], offsets[i]);
  const list = makeData({
    type: new List(new Field('item', new Int32(), false)),
    length: n,
    nullCount: 0,
    valueOffsets: offsets,
    child: int32Data(values),
  });
  return encodeMessage(
    'TokenizedDocs',
    n,
    [
      { name: 'doc_id', data: makeData({ type: new Int64(), length: n, nullCount: 0, data: ids }) },
      { name: 'input_ids', data: list },
    ],
  );
}

export function decodeTokenizedDocs(payload: ArrayBuffer | Uint8Array): TokenizedDocsBatch {
  const msg = decodeMessage('TokenizedDocs', payload);
  const n = msg.length;
  const idData = column(msg, 'TokenizedDocs', 'doc_id', isInt64, 'Int64');
  const listData = column(
    msg,
    'TokenizedDocs',
    'input_ids',
    (t) => List.isList(t) && Int32.isInt(t.children[0].type) && (t.children[0].type as Int32).bitWidth === 32,
    'List<Int32>',
  );
  if (n === 0) return { docIds: new BigInt64Array(0), offsets: new Int32Array(1), values: new Int32Array(0), inputIds: [] };
  const docIds = (idData.values as BigInt64Array).subarray(0, n);
  const rawOffsets = (listData.valueOffsets as Int32Array).subarray(0, n + 1);
  const base = rawOffsets[0];
  const child = listData.children[0];
  const values = (child.values as Int32Array).subarray(base, rawOffsets[n]);
  // Offsets relative to `values` (a copy only when the list does not start at 0, i.e. a sliced batch).
  const offsets = base === 0 ? rawOffsets : rawOffsets.map((o) => o - base);
  const inputIds: Int32Array[] = new Array(n);
  for (let i = 0; i < n; i++) inputIds[i] = values.subarray(offsets[i], offsets[i + 1]);
  return { docIds, offsets, values, inputIds };
}
