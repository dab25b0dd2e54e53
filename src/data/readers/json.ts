/**
 * JSON reader: a `.json` file holds either an array of objects or JSON lines (HF's "json" builder
 * accepts both). Arrays are streamed: a byte scanner finds each top-level element (tracking
 * strings, escapes and nesting) and parses it alone, so memory stays bounded by one record plus
 * one chunk. Errors name file:line of the element. Compressed files (.gz, .zst) are decompressed on
 * the fly (compression.ts).
 *
 * With `onBadRecord`, a bad element (malformed JSON, invalid UTF-8, no text) is reported and skipped;
 * a broken array (trailing comma, data after "]", end of file inside it) or a corrupt compressed
 * stream is reported once and the file ends there, keeping the elements before it.
 */
import { openChunks } from './compression';
import { readJsonl, parseRecord } from './jsonl';
import { RecordError, skipOrThrow } from './record-error';
import { DEFAULT_CHUNK_BYTES, type Doc, type ReadOptions } from './types';

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export async function* readJson(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let first: number | undefined;
  try {
    first = await firstSignificantByte(file);
  } catch (e) {
    skipOrThrow(opts.onBadRecord, e, { file }); // an empty or corrupt compressed file
    return;
  }
  if (first === 0x5b /* [ */) yield* readJsonArray(file, opts);
  else yield* readJsonl(file, opts);
}

async function firstSignificantByte(file: string): Promise<number | undefined> {
  let first = true;
  for await (const buf of openChunks(file, 4096)) {
    let i = first && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    first = false;
    for (; i < buf.length; i++) if (!WS.has(buf[i])) return buf[i];
  }
  return undefined;
}

type Phase = 'before-array' | 'before-element' | 'after-comma' | 'in-element' | 'done';

async function* readJsonArray(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let phase: Phase = 'before-array';
  let line = 1;
  let row = 0;
  let depth = 0;
  let inString = false;
  let escape = false;
  let pieces: Buffer[] = [];
  let elemStart = 0;
  let elemLine = 0;
  let elemByte = 0;
  let filePos = 0;
  let first = true;
  /** The element's document, or null when it is bad and was reported. */
  const emit = (bytes: Buffer): Doc | null => {
    try {
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw new RecordError(`${file}:${elemLine}`, 'invalid UTF-8');
      }
      return { text: parseRecord(text, file, elemLine, opts.textColumn), loc: { file, line: elemLine, row: row++, byte: elemByte } };
    } catch (e) {
      skipOrThrow(opts.onBadRecord, e, { file, line: elemLine, byte: elemByte });
      return null;
    }
  };
  try {
    yield* scan();
  } catch (e) {
    skipOrThrow(opts.onBadRecord, e, { file, line }); // the array is broken here: the file ends
  }

  async function* scan(): AsyncGenerator<Doc, void, undefined> {
    for await (const buf of openChunks(file, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES)) {
      const bytesRead = buf.length;
      let i = 0;
      if (first) {
        first = false;
        if (bytesRead >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
      }
      elemStart = 0;
      for (; i < bytesRead; i++) {
        const b = buf[i];
        if (phase === 'in-element') {
          if (inString) {
            if (escape) escape = false;
            else if (b === 0x5c) escape = true;
            else if (b === 0x22) inString = false;
          } else if (b === 0x22) inString = true;
          else if (b === 0x7b || b === 0x5b) depth++;
          else if ((b === 0x7d || b === 0x5d) && depth > 0) depth--;
          else if (depth === 0 && (b === 0x2c || b === 0x5d)) {
            const tail = buf.subarray(elemStart, i);
            const bytes = pieces.length ? Buffer.concat([...pieces, tail]) : tail;
            pieces = [];
            const doc = emit(bytes);
            if (doc) yield doc;
            phase = b === 0x2c ? 'after-comma' : 'done';
          }
        } else if (WS.has(b)) {
          // whitespace between tokens
        } else if (phase === 'before-array') {
          phase = 'before-element'; // first significant byte is "[" (checked by the caller)
        } else if (phase === 'before-element' && b === 0x5d) {
          phase = 'done'; // empty array
        } else if (phase === 'before-element' || phase === 'after-comma') {
          if (b === 0x5d) throw new RecordError(`${file}:${line}`, 'malformed JSON: trailing comma before "]"');
          phase = 'in-element';
          depth = 0;
          inString = false;
          escape = false;
          elemStart = i;
          elemLine = line;
          elemByte = filePos + i;
          i--; // rescan this byte as part of the element
          continue;
        } else {
          throw new RecordError(`${file}:${line}`, 'malformed JSON: unexpected data after the closing "]" of the array');
        }
        if (b === 0x0a) line++;
      }
      if (phase === 'in-element') pieces.push(Buffer.from(buf.subarray(elemStart, bytesRead)));
      filePos += bytesRead;
    }
    if ((phase as Phase) !== 'done') {
      const at = phase === 'in-element' ? ` (element starting at line ${elemLine})` : '';
      throw new RecordError(`${file}:${line}`, `malformed JSON: unexpected end of file inside the array${at}`);
    }
  }
}
