/**
 * Arrow IPC reader, file format ("ARROW1" magic, footer) and stream format (what Hugging Face
 * `datasets` writes to its `.arrow` cache files and `save_to_disk` shards). apache-arrow's
 * RecordBatchReader reads one record batch at a time (never `tableFromIPC` on the whole file), and
 * only the text column is turned into strings. `loc.row` is the 0-based row in the file.
 *
 * Compressed files: a `.arrow.gz` / `.arrow.zst` in stream format is decompressed as a stream; one
 * in file format needs random access (the footer indexes the batches), so it is decompressed to a
 * temporary file first (local-copy.ts).
 *
 * Errors (PtflowError) name the file, and the batch / row where known: empty or corrupt file,
 * missing or non-string text column, null text. With `onBadRecord`, a row with null text is reported
 * and skipped; an unreadable file or schema, or a corrupt record batch (or compressed stream), is
 * reported once and the file ends there, keeping the rows of the batches before it.
 */
import * as fs from 'node:fs';
import { DataType, RecordBatchReader, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import { PtflowError } from '../../errors';
import { compressionOf, openChunks } from './compression';
import { localCopy, type LocalCopy } from './local-copy';
import { RecordError, skipOrThrow } from './record-error';
import type { Doc, ReadOptions } from './types';

/** "ARROW1": the first bytes of the IPC file format (the stream format starts with a message). */
const FILE_MAGIC = Buffer.from('ARROW1');
/** Decompressed bytes are handed to Arrow in pieces of at least this size. */
const COALESCE_BYTES = 1 << 20;

export async function* readArrow(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  try {
    yield* readFile(file, opts);
  } catch (e) {
    skipOrThrow(opts.onBadRecord, e, { file }); // the rest of the file is unreadable
  }
}

async function* readFile(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let handle: fs.promises.FileHandle | undefined;
  let copy: LocalCopy | undefined;
  let batches: AsyncIterable<RecordBatch>;
  let schema: () => Schema;
  try {
    const stream = compressionOf(file) ? await decompressedStream(file) : undefined;
    if (!stream) {
      copy = await localCopy(file);
      try {
        handle = await fs.promises.open(copy.path, 'r');
      } catch (e) {
        throw new PtflowError(`Cannot open ${file}: ${(e as Error).message}`);
      }
      if ((await handle.stat()).size === 0) throw new RecordError(file, 'empty file (not an Arrow IPC file)');
    }
    try {
      const reader = stream ? await RecordBatchReader.from(stream) : await RecordBatchReader.from(handle as fs.promises.FileHandle);
      await reader.open();
      batches = reader;
      schema = () => reader.schema;
    } catch (e) {
      throw arrowError(file, 'not a readable Arrow IPC file or stream', e);
    }
    yield* readBatches(file, batches, schema, opts);
  } finally {
    await handle?.close().catch(() => undefined);
    await copy?.release();
  }
}

async function* readBatches(
  file: string,
  batches: AsyncIterable<RecordBatch>,
  schema: () => Schema,
  opts: ReadOptions,
): AsyncGenerator<Doc, void, undefined> {
  const column = opts.textColumn;
  const index = textColumnIndex(file, schema(), column);
  let row = 0;
  let b = 0;
  const it = batches[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<RecordBatch>;
      try {
        next = await it.next();
      } catch (e) {
        throw arrowError(file, `record batch ${b} (after row ${row - 1}): corrupt Arrow data`, e, { row });
      }
      if (next.done) return;
      const vector = next.value.getChildAt(index);
      if (!vector) throw new RecordError(file, `record batch ${b} has no column ${index} ("${column}")`, { row });
      for (let i = 0; i < next.value.numRows; i++, row++) {
        const text: unknown = vector.get(i);
        if (typeof text !== 'string') {
          const e = new RecordError(`${file}: row ${row} (record batch ${b})`, `text column "${column}" is ${text === null ? 'null' : `a ${typeof text}`}, expected a string`);
          skipOrThrow(opts.onBadRecord, e, { file, row });
          continue;
        }
        yield { text, loc: { file, row } };
      }
      b++;
    }
  } finally {
    await it.return?.();
  }
}

function textColumnIndex(file: string, schema: Schema, column: string): number {
  const fields: Field[] = schema.fields;
  const index = fields.findIndex((f) => f.name === column);
  if (index < 0) {
    throw new RecordError(
      file,
      `missing text column "${column}" (columns: ${fields.map((f) => f.name).join(', ') || 'none'}; set columns.prompt in dataset_info.json)`,
    );
  }
  const type = fields[index].type;
  const stringy = (t: DataType): boolean => DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isUtf8View(t);
  if (!(stringy(type) || (DataType.isDictionary(type) && stringy(type.dictionary)))) {
    throw new RecordError(file, `text column "${column}" has Arrow type ${String(type)}, expected a string (utf8) column`);
  }
  return index;
}

/**
 * The decompressed bytes of a compressed stream-format file, or undefined when it holds the file
 * format (the caller then reads a decompressed temporary copy).
 */
async function decompressedStream(file: string): Promise<AsyncIterable<Uint8Array> | undefined> {
  const chunks = openChunks(file);
  const head: Buffer[] = [];
  let headLen = 0;
  while (headLen < FILE_MAGIC.length) {
    const next = await chunks.next();
    if (next.done) break;
    head.push(next.value);
    headLen += next.value.length;
  }
  if (headLen === 0) {
    await chunks.return();
    throw new RecordError(file, 'empty file after decompression (not an Arrow IPC file)', { byte: 0 });
  }
  if (Buffer.concat(head).subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) {
    await chunks.return();
    return undefined;
  }
  return (async function* (): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      // Arrow's byte stream reader is much faster on few large pieces than on many block-sized ones.
      let pending: Buffer[] = head;
      let size = headLen;
      for await (const chunk of chunks) {
        pending.push(chunk);
        size += chunk.length;
        if (size >= COALESCE_BYTES) {
          yield pending.length === 1 ? pending[0] : Buffer.concat(pending, size);
          pending = [];
          size = 0;
        }
      }
      if (size > 0) yield Buffer.concat(pending, size);
    } finally {
      await chunks.return();
    }
  })();
}

/** Arrow's own errors are bad data (RecordError); ours pass through as they are. */
function arrowError(file: string, what: string, e: unknown, at: { row?: number } = {}): PtflowError {
  if (e instanceof PtflowError) return e;
  return new RecordError(file, `${what}: ${(e as Error).message}`, at);
}
