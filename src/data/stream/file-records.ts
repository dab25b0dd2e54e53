/**
 * Records of one data file addressed by position, for streaming: read from any position onwards, or
 * fetch a set of records by position (the shuffle buffer's residents on resume).
 *
 *   recordsFrom(ref, pos, io, chunkBytes?) → AsyncGenerator<Rec>    records from `pos` on, lazily
 *   fetchRecords(ref, positions, io)       → Map<pos, text>         the records at those positions
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
 */
import * as fs from 'node:fs';
import { PtflowError } from '../../errors';
import type { DatasetFormat } from '../registry';
import { readerFor } from '../readers';
import { compressionOf, openChunks } from '../readers/compression';
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

/** Turn one line's bytes into a record text (null: a blank JSON line, skipped). */
function lineText(ref: FileRef, kind: 'lf' | 'universal', bytes: Uint8Array, pos: number): string | null {
  let b = bytes;
  if (kind === 'lf' && b.length > 0 && b[b.length - 1] === CR) b = b.subarray(0, b.length - 1);
  let s: string;
  try {
    s = decoder.decode(b);
  } catch {
    throw new PtflowError(`${ref.file} (record at byte ${pos}): invalid UTF-8`);
  }
  if (kind === 'universal') return s;
  if (s.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch (e) {
    throw new PtflowError(`${ref.file} (record at byte ${pos}): malformed JSON: ${(e as Error).message}`);
  }
  return textField(value, ref.textColumn, `${ref.file} (record at byte ${pos})`);
}

/** Records of a line-based file from byte `start` (which must be a line start, or 0). */
async function* lineRecords(ref: FileRef, kind: 'lf' | 'universal', start: number, io: IoCounter, chunkBytes: number): AsyncGenerator<Rec, void, undefined> {
  let rest: Buffer = Buffer.alloc(0);
  let restPos = start; // file offset of rest[0]
  let scanFrom = 0; // bytes of rest already known to hold no terminator
  let first = start === 0;
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
      const text = lineText(ref, kind, buf.subarray(lineStart, i), restPos + lineStart);
      if (text !== null) yield { text, pos: restPos + lineStart, next: restPos + next };
      lineStart = next;
      i = next;
    }
    rest = lineStart === 0 ? buf : Buffer.from(buf.subarray(lineStart));
    restPos += lineStart;
    scanFrom = i - lineStart;
  }
  if (rest.length > 0) {
    let body = rest;
    if (kind === 'universal' && body[body.length - 1] === CR) body = body.subarray(0, body.length - 1);
    const text = lineText(ref, kind, body, restPos);
    if (text !== null) yield { text, pos: restPos, next: restPos + rest.length };
  }
}

/** Records of a record-indexed file from record `start`: read (not tokenized) up to it. */
async function* rowRecords(ref: FileRef, start: number, io: IoCounter, chunkBytes: number): AsyncGenerator<Rec, void, undefined> {
  let row = 0;
  for await (const d of readerFor(ref.format, ref.file)(ref.file, { textColumn: ref.textColumn, chunkBytes })) {
    io.bytes += Buffer.byteLength(d.text);
    if (row >= start) yield { text: d.text, pos: row, next: row + 1 };
    row++;
  }
}

export async function* recordsFrom(ref: FileRef, pos: number, io: IoCounter, chunkBytes = DEFAULT_CHUNK): AsyncGenerator<Rec, void, undefined> {
  const kind = await recordKind(ref);
  if (kind === 'row') yield* rowRecords(ref, pos, io, chunkBytes);
  else yield* lineRecords(ref, kind, pos, io, chunkBytes);
}

/** Index of the first terminator at or after `from` in `buf` (-1: none; universal "\r" counts). */
function findEnd(buf: Buffer, from: number, kind: 'lf' | 'universal'): number {
  const lf = buf.indexOf(LF, from);
  if (kind === 'lf') return lf;
  const cr = buf.indexOf(CR, from);
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return Math.min(cr, lf);
}

/**
 * The texts of the records at `positions` (each must be a record's position, as `Rec.pos`). Plain
 * line-based files are read only around each record (windows of 16 KiB and up, shared by records
 * close together); other files are scanned from the smallest position to the largest.
 */
export async function fetchRecords(ref: FileRef, positions: readonly number[], io: IoCounter, chunkBytes = DEFAULT_CHUNK): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (positions.length === 0) return out;
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const kind = await recordKind(ref);
  if (kind === 'row' || compressionOf(ref.file)) {
    const want = new Set(sorted);
    const last = sorted[sorted.length - 1];
    for await (const r of recordsFrom(ref, sorted[0], io, chunkBytes)) {
      if (want.has(r.pos)) out.set(r.pos, r.text);
      if (r.pos >= last) break;
    }
  } else {
    const fh = await openFile(ref.file);
    try {
      const size = (await fh.stat()).size;
      let win = Buffer.alloc(0);
      let winStart = 0;
      for (const p of sorted) {
        const want = 16 << 10;
        for (;;) {
          if (p < winStart || p >= winStart + win.length) {
            const buf = Buffer.allocUnsafe(Math.min(want, Math.max(0, size - p)));
            const { bytesRead } = buf.length > 0 ? await fh.read(buf, 0, buf.length, p) : { bytesRead: 0 };
            io.bytes += bytesRead;
            win = buf.subarray(0, bytesRead);
            winStart = p;
          }
          const rel = p - winStart;
          const end = findEnd(win, rel, kind);
          const atEof = winStart + win.length >= size;
          if (end >= 0 || atEof) {
            const text = lineText(ref, kind, win.subarray(rel, end >= 0 ? end : win.length), p);
            if (text === null) throw new PtflowError(`${ref.file}: no record at byte ${p} (was the file changed since the checkpoint?)`);
            out.set(p, text);
            break;
          }
          // The record runs past the window: read as much again after it.
          const more = Buffer.allocUnsafe(Math.min(Math.max(want, win.length), size - winStart - win.length));
          const { bytesRead } = await fh.read(more, 0, more.length, winStart + win.length);
          io.bytes += bytesRead;
          win = Buffer.concat([win, more.subarray(0, bytesRead)]);
        }
      }
    } finally {
      await fh.close();
    }
  }
  for (const p of sorted) {
    if (!out.has(p)) throw new PtflowError(`${ref.file}: no record at position ${p} (was the file changed since the checkpoint?)`);
  }
  return out;
}
