/**
 * Records of one data file addressed by position, for streaming: read from any position onwards, or
 * fetch a set of records by position (the shuffle buffer's residents on resume).
 *
 *   recordsFrom(ref, pos, io, chunkBytes?) → AsyncGenerator<Rec>    records from `pos` on, lazily
 *   fetchRecords(ref, extents, io)         → Map<pos, text>         the records at those extents
 *
 * Positions: line-based files (jsonl, txt, and .json files that hold JSON lines) are addressed by the
 * byte offset of the record's first byte — in plain files reading starts there (a real seek); in .gz /
 * .zst files, which cannot seek, the bytes before it are decompressed and discarded without parsing.
 * Other files (csv, json arrays, parquet, arrow) are addressed by record index and skipped to by
 * reading with the format's reader (no tokenization either way). `io.bytes` counts the bytes taken
 * from files (decompressed bytes for .gz / .zst; text bytes for record-indexed formats), so tests can
 * check that a resume reads a bounded amount.
 *
 * Line semantics match src/data/readers (lines.ts): jsonl / json lines end at "\n" (one trailing "\r"
 * dropped, blank lines skipped), txt lines end at "\n", "\r\n" or "\r"; a UTF-8 BOM at byte 0 is skipped.
 *
 * Bad records (on_bad_record): without `onBad` the first one throws, naming file:line (or the byte
 * offset when reading started mid-file, where line numbers are unknown); with it, each is reported and
 * skipped — a skipped line still moves positions on, so `next` and the records after it are where
 * they would be without it — and a corrupt compressed stream ends its file after one report.
 */
import * as fs from 'node:fs';
import { PtflowError } from '../../errors';
import type { DatasetFormat } from '../registry';
import { readerFor, type BadRecordHandler } from '../readers';
import { compressionOf, openChunks } from '../readers/compression';
import { RecordError, skipOrThrow } from '../readers/record-error';
import { textField } from '../readers/text-field';

export interface FileRef {
  file: string;
  format: DatasetFormat;
  textColumn: string;
}

/** A record and its place: `pos` addresses it, `next` addresses whatever follows it. */
export interface Rec {
  text: string;
  pos: number;
  next: number;
}

export interface IoCounter {
  bytes: number;
}

export type RecordKind = 'lf' | 'universal' | 'row';

const LF = 0x0a;
const CR = 0x0d;
const DEFAULT_CHUNK = 1 << 20;
const kinds = new Map<string, RecordKind>();

/** How records of a file are addressed (cached per file). */
export async function recordKind(ref: FileRef): Promise<RecordKind> {
  const known = kinds.get(ref.file);
  if (known) return known;
  let kind: RecordKind;
  if (ref.format === 'jsonl') kind = 'lf';
  else if (ref.format === 'txt') kind = 'universal';
  else if (ref.format === 'json') kind = (await firstSignificantByte(ref.file)) === 0x5b ? 'row' : 'lf';
  else kind = 'row';
  kinds.set(ref.file, kind);
  return kind;
}

async function firstSignificantByte(file: string): Promise<number | undefined> {
  let first = true;
  for await (const buf of openChunks(file, 4096)) {
    let i = first && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    first = false;
    for (; i < buf.length; i++) if (buf[i] !== 0x20 && buf[i] !== 0x09 && buf[i] !== LF && buf[i] !== CR) return buf[i];
  }
  return undefined;
}

async function openFile(file: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(file, 'r');
  } catch (e) {
    throw new PtflowError(`Cannot open ${file}: ${(e as Error).message}`);
  }
}

/** The file's (decompressed) bytes from byte `start` on. */
async function* chunksFrom(file: string, start: number, io: IoCounter, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
  if (compressionOf(file)) {
    let skip = start;
    for await (const c of openChunks(file, chunkBytes)) {
      io.bytes += c.length;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      yield skip > 0 ? c.subarray(skip) : c;
      skip = 0;
    }
    return;
  }
  const fh = await openFile(file);
  try {
    let pos = start;
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, pos);
      if (bytesRead === 0) return;
      io.bytes += bytesRead;
      pos += bytesRead;
      yield bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turn one line's bytes into a record text (null: a blank JSON line, skipped). Bad data is a
 * RecordError naming file:line, or the byte offset when the line number is not known.
 */
function lineText(ref: FileRef, kind: 'lf' | 'universal', bytes: Uint8Array, pos: number, line?: number): string | null {
  const where = line !== undefined ? `${ref.file}:${line}` : `${ref.file} (record at byte ${pos})`;
  let b = bytes;
  if (kind === 'lf' && b.length > 0 && b[b.length - 1] === CR) b = b.subarray(0, b.length - 1);
  let s: string;
  try {
    s = decoder.decode(b);
  } catch {
    throw new RecordError(where, 'invalid UTF-8');
  }
  if (kind === 'universal') return s;
  if (s.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch (e) {
    throw new RecordError(where, `malformed JSON: ${(e as Error).message}`);
  }
  return textField(value, ref.textColumn, where);
}

/**
 * Records of a line-based file from byte `start` (which must be a line start, or 0). Line numbers are
 * known when reading from the start of the file.
 */
async function* lineRecords(
  ref: FileRef,
  kind: 'lf' | 'universal',
  start: number,
  io: IoCounter,
  chunkBytes: number,
  onBad?: BadRecordHandler,
): AsyncGenerator<Rec, void, undefined> {
  let rest: Buffer = Buffer.alloc(0);
  let restPos = start; // file offset of rest[0]
  let scanFrom = 0; // bytes of rest already known to hold no terminator
  let first = start === 0;
  let line: number | undefined = start === 0 ? 1 : undefined; // of the line starting at rest[0]
  /** The record of one line, or null for a blank JSON line or a bad line that was reported. */
  const text = (bytes: Uint8Array, pos: number): string | null => {
    try {
      return lineText(ref, kind, bytes, pos, line);
    } catch (e) {
      skipOrThrow(onBad, e, { file: ref.file, line, byte: pos });
      return null;
    }
  };
  try {
    for await (const chunk of chunksFrom(ref.file, start, io, chunkBytes)) {
      let buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      if (first) {
        first = false;
        if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
          buf = buf.subarray(3);
          restPos = 3;
        }
      }
      let lineStart = 0;
      let i = scanFrom;
      while (i < buf.length) {
        const b = buf[i];
        if (b !== LF && !(kind === 'universal' && b === CR)) {
          i++;
          continue;
        }
        let next = i + 1;
        if (b === CR) {
          if (next === buf.length) break; // "\r" at the end of the data so far: is "\n" next?
          if (buf[next] === LF) next++;
        }
        const t = text(buf.subarray(lineStart, i), restPos + lineStart);
        if (t !== null) yield { text: t, pos: restPos + lineStart, next: restPos + next };
        if (line !== undefined) line++;
        lineStart = next;
        i = next;
      }
      rest = lineStart === 0 ? buf : Buffer.from(buf.subarray(lineStart));
      restPos += lineStart;
      scanFrom = i - lineStart;
    }
  } catch (e) {
    // a corrupt compressed stream: the records before it were yielded; the file ends here
    skipOrThrow(onBad, e, { file: ref.file, line });
    return;
  }
  if (rest.length > 0) {
    let body = rest;
    if (kind === 'universal' && body[body.length - 1] === CR) body = body.subarray(0, body.length - 1);
    const t = text(body, restPos);
    if (t !== null) yield { text: t, pos: restPos, next: restPos + rest.length };
  }
}

/** Records of a record-indexed file from record `start`: read (not tokenized) up to it. */
async function* rowRecords(ref: FileRef, start: number, io: IoCounter, chunkBytes: number, onBad?: BadRecordHandler): AsyncGenerator<Rec, void, undefined> {
  let row = 0; // counts the records read (bad ones, skipped by the reader, have no position)
  for await (const d of readerFor(ref.format, ref.file)(ref.file, { textColumn: ref.textColumn, chunkBytes, onBadRecord: onBad })) {
    io.bytes += Buffer.byteLength(d.text);
    if (row >= start) yield { text: d.text, pos: row, next: row + 1 };
    row++;
  }
}

/** Records from `pos` on; `onBad` (on_bad_record: skip) is told of each bad record skipped. */
export async function* recordsFrom(
  ref: FileRef,
  pos: number,
  io: IoCounter,
  chunkBytes = DEFAULT_CHUNK,
  onBad?: BadRecordHandler,
): AsyncGenerator<Rec, void, undefined> {
  let kind: RecordKind;
  try {
    kind = await recordKind(ref);
  } catch (e) {
    skipOrThrow(onBad, e, { file: ref.file }); // an empty or corrupt compressed file
    return;
  }
  if (kind === 'row') yield* rowRecords(ref, pos, io, chunkBytes, onBad);
  else yield* lineRecords(ref, kind, pos, io, chunkBytes, onBad);
}

/** A record's extent: `pos` and `next` as `recordsFrom` gave them. */
export interface Extent {
  pos: number;
  next: number;
}

/** Records closer together than this are fetched in one read. */
const MERGE_GAP = 8 << 10;
/** Largest merged read. */
const MAX_READ = 8 << 20;

/**
 * The texts of the records at the given extents (each as `recordsFrom` gave it). Plain line-based files
 * read exactly those bytes (records close together in one read); other files are scanned from the
 * smallest position to the largest — with `skipBad` passing over bad records between them silently
 * (they were reported when first read).
 */
export async function fetchRecords(
  ref: FileRef,
  extents: readonly Extent[],
  io: IoCounter,
  chunkBytes = DEFAULT_CHUNK,
  skipBad = false,
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (extents.length === 0) return out;
  const byPos = new Map<number, Extent>();
  for (const e of extents) byPos.set(e.pos, e);
  const sorted = [...byPos.values()].sort((a, b) => a.pos - b.pos);
  const kind = await recordKind(ref);
  if (kind === 'row' || compressionOf(ref.file)) {
    const last = sorted[sorted.length - 1].pos;
    for await (const r of recordsFrom(ref, sorted[0].pos, io, chunkBytes, skipBad ? () => undefined : undefined)) {
      if (byPos.has(r.pos)) out.set(r.pos, r.text);
      if (r.pos >= last) break;
    }
  } else {
    const fh = await openFile(ref.file);
    try {
      for (let i = 0; i < sorted.length; ) {
        // one read for this record and the following ones that start close after it
        let j = i + 1;
        let end = sorted[i].next;
        while (j < sorted.length && sorted[j].pos - end < MERGE_GAP && sorted[j].next - sorted[i].pos <= MAX_READ) {
          end = Math.max(end, sorted[j].next);
          j++;
        }
        const start = sorted[i].pos;
        const buf = Buffer.allocUnsafe(end - start);
        const { bytesRead } = await fh.read(buf, 0, buf.length, start);
        io.bytes += bytesRead;
        for (let k = i; k < j; k++) {
          const e = sorted[k];
          if (e.next - start > bytesRead || e.next <= e.pos) {
            throw new PtflowError(`${ref.file}: no record at bytes ${e.pos}..${e.next} (was the file changed since the checkpoint?)`);
          }
          let body = buf.subarray(e.pos - start, e.next - start);
          if (body[body.length - 1] === LF) body = body.subarray(0, body.length - 1);
          if (kind === 'universal' && body[body.length - 1] === CR) body = body.subarray(0, body.length - 1);
          const ends = findTerminator(body, kind);
          const text = ends < 0 ? lineText(ref, kind, body, e.pos) : null;
          if (text === null) throw new PtflowError(`${ref.file}: no record at byte ${e.pos} (was the file changed since the checkpoint?)`);
          out.set(e.pos, text);
        }
        i = j;
      }
    } finally {
      await fh.close();
    }
  }
  for (const e of sorted) {
    if (!out.has(e.pos)) throw new PtflowError(`${ref.file}: no record at position ${e.pos} (was the file changed since the checkpoint?)`);
  }
  return out;
}

/** Index of a line terminator inside a record's body (-1: none, as it should be). */
function findTerminator(body: Uint8Array, kind: 'lf' | 'universal'): number {
  const lf = body.indexOf(LF);
  if (lf >= 0 || kind === 'lf') return lf;
  return body.indexOf(CR);
}
