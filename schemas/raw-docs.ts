/**
 * RawDocs: documents read from the dataset files, before tokenization.
 *
 *   doc_id  Int64               global ordinal of the document (within its split)
 *   source  Dictionary<Int32, Utf8>  the file it came from (repeated values stored once)
 *   text    Utf8
 *
 * encodeRawDocs(docs) → ArrayBuffer;  decodeRawDocs(bytes) → { docIds (a view), sources, texts }
 */
import { Dictionary, Int32 as Int32Type, Int64, Utf8, makeData, makeVector, type DataType } from 'apache-arrow';
import { PtflowError } from '../src/errors';
import { column, decodeMessage, encodeMessage } from './arrow-ipc';

/** Documents per RawDocs batch the readers send (streaming also ends a batch at `batch_chars`, src/data/stream/shard-stream.ts). */
export const DOCS_PER_BATCH = 256;

export interface RawDoc {
  docId: number | bigint;
  source: string;
  text: string;
}

export interface RawDocsBatch {
  docIds: BigInt64Array;
  sources: string[];
  texts: string[];
}

const encoder = new TextEncoder();

export function utf8Data(strings: readonly string[]) {
  const encoded = strings.map((s) => encoder.encode(s));
  const offsets = new Int32Array(strings.length + 1);
  let total = 0;
  for (let i = 0; i < encoded.length; i++) {
    total += encoded[i].length;
    if (total > 0x7fffffff) throw new PtflowError('RawDocs message: more than 2 GiB of text in one batch');
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < encoded.length; i++) bytes.set(encoded[i], offsets[i]);
  return makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}

export function encodeRawDocs(docs: readonly RawDoc[]): ArrayBuffer {
  const n = docs.length;
  const ids = new BigInt64Array(n);
  const dictIndex = new Map<string, number>();
  const dictValues: string[] = [];
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = docs[i];
    if (typeof d.docId === 'number' && !Number.isSafeInteger(d.docId)) throw new PtflowError(`RawDocs message: doc_id ${d.docId} is not an integer`);
    ids[i] = BigInt(d.docId);
    let k = dictIndex.get(d.source);
    if (k === undefined) {
      k = dictValues.length;
      dictIndex.set(d.source, k);
      dictValues.push(d.source);
    }
    indices[i] = k;
  }
  const source = makeData({
    type: new Dictionary(new Utf8(), new Int32Type(), 0),
    length: n,
    nullCount: 0,
    data: indices,
    dictionary: makeVector(utf8Data(dictValues)),
  });
  return encodeMessage(
    'RawDocs',
    n,
    [
      { name: 'doc_id', data: makeData({ type: new Int64(), length: n, nullCount: 0, data: ids }) },
      { name: 'source', data: source },
      { name: 'text', data: utf8Data(docs.map((d) => d.text)) },
    ],
  );
}

export const isInt64 = (t: DataType): boolean => Int64.isInt(t) && (t as Int64).bitWidth === 64 && (t as Int64).isSigned;

export function decodeRawDocs(payload: ArrayBuffer | Uint8Array): RawDocsBatch {
  const msg = decodeMessage('RawDocs', payload);
  const n = msg.length;
  const idData = column(msg, 'RawDocs', 'doc_id', isInt64, 'Int64');
  column(msg, 'RawDocs', 'source', (t) => Dictionary.isDictionary(t) && Utf8.isUtf8((t as Dictionary).dictionary), 'Dictionary<Utf8>');
  column(msg, 'RawDocs', 'text', (t) => Utf8.isUtf8(t), 'Utf8');
  const docIds = n === 0 ? new BigInt64Array(0) : (idData.values as BigInt64Array).subarray(0, n);
  const sources = n === 0 ? [] : (msg.table.getChild('source')!.toArray() as string[]);
  const texts = n === 0 ? [] : (msg.table.getChild('text')!.toArray() as string[]);
  return { docIds, sources: Array.from(sources), texts: Array.from(texts) };
}
