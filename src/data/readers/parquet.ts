/**
 * Parquet reader (hyparquet, pure JS; snappy, gzip, zstd, brotli, lz4 pages via hyparquet-compressors).
 * Reads the footer, checks the text column, then reads row group by row group and only the text
 * column, so memory holds one row group's text column at a time. `loc.row` is the 0-based row in
 * the file. A `.parquet.gz` / `.parquet.zst` file is decompressed to a temporary file first
 * (parquet needs random access: local-copy.ts).
 *
 * Errors (PtflowError) name the file, and the row group / row where one is known: not a parquet
 * file, a missing or non-string text column, a null text, a corrupt page. With `onBadRecord`, a bad
 * row (null, non-string or non-UTF-8 text) is reported and skipped, a corrupt row group is reported
 * once (at its first row) and skipped, and a file that cannot be read at all (empty, no footer, no
 * usable text column, corrupt compressed data) is reported once and skipped.
 */
import * as fs from 'node:fs';
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { PtflowError } from '../../errors';
import { localCopy, type LocalCopy } from './local-copy';
import { RecordError, skipOrThrow } from './record-error';
import type { Doc, ReadOptions } from './types';

export async function* readParquet(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let copy: LocalCopy;
  try {
    copy = await localCopy(file);
  } catch (e) {
    skipOrThrow(opts.onBadRecord, e, { file }); // an empty or corrupt compressed file
    return;
  }
  try {
    yield* readRows(file, copy.path, opts);
  } catch (e) {
    skipOrThrow(opts.onBadRecord, e, { file }); // the file as a whole is unreadable
  } finally {
    await copy.release();
  }
}

async function* readRows(file: string, local: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    try {
      handle = await fs.promises.open(local, 'r');
    } catch (e) {
      throw new PtflowError(`Cannot open ${file}: ${(e as Error).message}`);
    }
    const size = (await handle.stat()).size;
    if (size === 0) throw new RecordError(file, 'empty file (not a parquet file)');
    const buffer = fileBuffer(handle, size);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw new RecordError(file, `not a readable parquet file: ${(e as Error).message}`);
    }
    checkTextColumn(file, metadata, opts.textColumn);
    let rowStart = 0;
    for (const [g, group] of metadata.row_groups.entries()) {
      const rowEnd = rowStart + Number(group.num_rows);
      let rows: unknown[][];
      try {
        rows = await readGroup(buffer, metadata, opts.textColumn, file, g, rowStart, rowEnd);
      } catch (e) {
        skipOrThrow(opts.onBadRecord, e, { file, row: rowStart }); // the next row group may be fine
        rows = [];
      }
      for (let i = 0; i < rows.length; i++) {
        const row = rowStart + i;
        let text: string;
        try {
          text = textOf(rows[i][0], file, row, opts.textColumn);
        } catch (e) {
          skipOrThrow(opts.onBadRecord, e, { file, row });
          continue;
        }
        yield { text, loc: { file, row } };
      }
      rowStart = rowEnd;
    }
  } finally {
    await handle?.close();
  }
}

/** The text column of row group `g` (rows `rowStart`..`rowEnd - 1`). */
async function readGroup(
  buffer: AsyncBuffer,
  metadata: FileMetaData,
  column: string,
  file: string,
  g: number,
  rowStart: number,
  rowEnd: number,
): Promise<unknown[][]> {
  let rows: unknown[][] = [];
  try {
    await parquetRead({
      file: buffer,
      metadata,
      columns: [column],
      rowStart,
      rowEnd,
      compressors,
      onComplete: (r: unknown[][]) => {
        rows = r;
      },
    });
  } catch (e) {
    throw new RecordError(file, `row group ${g} (rows ${rowStart}–${rowEnd - 1}): corrupt parquet data: ${(e as Error).message}`);
  }
  if (rows.length !== rowEnd - rowStart) {
    throw new RecordError(file, `row group ${g}: expected ${rowEnd - rowStart} rows, read ${rows.length}`);
  }
  return rows;
}

/** hyparquet's view of a local file: reads byte ranges on demand. */
function fileBuffer(handle: fs.promises.FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end: number = byteLength): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, Math.min(end, byteLength) - start));
      let at = 0;
      while (at < bytes.length) {
        const { bytesRead } = await handle.read(bytes, at, bytes.length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

function checkTextColumn(file: string, metadata: FileMetaData, column: string): void {
  const top = parquetSchema(metadata).children;
  const node = top.find((c) => c.element.name === column);
  if (!node) {
    throw new RecordError(
      file,
      `missing text column "${column}" (columns: ${top.map((c) => c.element.name).join(', ') || 'none'}; set columns.prompt in dataset_info.json)`,
    );
  }
  const el = node.element;
  if (node.children.length > 0 || el.type !== 'BYTE_ARRAY' || el.repetition_type === 'REPEATED') {
    const kind = node.children.length > 0 ? 'a nested column' : el.repetition_type === 'REPEATED' ? 'a repeated column' : `of type ${el.type}`;
    throw new RecordError(file, `text column "${column}" is ${kind}, expected a string (BYTE_ARRAY) column`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textOf(value: unknown, file: string, row: number, column: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      throw new RecordError(`${file}: row ${row}`, `text column "${column}" is not valid UTF-8`);
    }
  }
  throw new RecordError(`${file}: row ${row}`, `text column "${column}" is ${value === null || value === undefined ? 'null' : `a ${typeof value}`}, expected a string`);
}
