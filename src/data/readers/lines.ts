/**
 * Streams the lines of a UTF-8 file in bounded chunks, with 1-based line numbers and byte offsets.
 * Splitting happens on bytes (0x0A / 0x0D never occur inside a multi-byte UTF-8 sequence), then
 * each line is decoded strictly: invalid UTF-8 is an error naming file:line.
 *
 * Modes: 'lf' ends lines at "\n" and drops one trailing "\r" (JSON lines); 'universal' ends lines
 * at "\n", "\r\n" or "\r", as Python's text mode does (HF's text loader). A final line without a
 * terminator is returned; a file ending in a terminator has no extra empty line. A UTF-8 byte
 * order mark at the start of the file is skipped. Compressed files (.gz, .zst) are decompressed on
 * the fly (compression.ts); byte offsets then count decompressed bytes.
 *
 * With `onBad` (on_bad_record: skip), a line of invalid UTF-8 is reported and left out (line numbers
 * still count it), and a corrupt compressed stream is reported once: the lines before it were
 * yielded, the unterminated line it broke off is dropped, and the file ends there.
 */
import { openChunks } from './compression';
import { RecordError, skipOrThrow } from './record-error';
import { DEFAULT_CHUNK_BYTES, type BadRecordHandler } from './types';

export interface Line {
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte. */
  byte: number;
}

const LF = 0x0a;
const CR = 0x0d;

export async function* readLines(
  file: string,
  mode: 'lf' | 'universal',
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
  onBad?: BadRecordHandler,
): AsyncGenerator<Line, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  /** The line's text, or null when it is not UTF-8 and was reported. */
  const decode = (bytes: Uint8Array, line: number, byte: number): string | null => {
    try {
      return decoder.decode(bytes);
    } catch {
      skipOrThrow(onBad, new RecordError(`${file}:${line}`, 'invalid UTF-8'), { file, line, byte });
      return null;
    }
  };
  let pending: Buffer[] = []; // pieces of the current, unterminated line
  let pendingLen = 0;
  let lineNo = 1;
  let lineStart = 0; // byte offset of the current line
  let filePos = 0; // byte offset of buf[0]
  let skipLfAfterCr = false; // universal mode: "\r" ended the previous line at a chunk end
  let first = true;
  const chunks = openChunks(file, chunkBytes);
  try {
    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await chunks.next();
      } catch (e) {
        // a corrupt compressed stream: the lines before it were yielded; the broken-off line is dropped
        skipOrThrow(onBad, e, { file, line: lineNo });
        return;
      }
      if (step.done) break;
      yield* splitChunk(step.value);
    }
  } finally {
    await chunks.return(undefined); // closes the file when the consumer stops early
  }
  if (pendingLen > 0) {
    let piece = Buffer.concat(pending);
    if (mode === 'lf' && piece[piece.length - 1] === CR) piece = piece.subarray(0, piece.length - 1);
    const text = decode(piece, lineNo, lineStart);
    if (text !== null) yield { text, line: lineNo, byte: lineStart };
  }

  /** The lines ended in `buf` (the rest is kept as pending). */
  function* splitChunk(buf: Buffer): Generator<Line, void, undefined> {
    const bytesRead = buf.length;
    let start = 0;
    if (first) {
      first = false;
      if (bytesRead >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        start = 3;
        lineStart = 3;
      }
    }
    if (skipLfAfterCr) {
      skipLfAfterCr = false;
      if (buf[start] === LF) {
        start++;
        lineStart++;
      }
    }
    for (let i = start; i < bytesRead; i++) {
      const b = buf[i];
      if (b !== LF && !(mode === 'universal' && b === CR)) continue;
      let piece = buf.subarray(start, i);
      if (pendingLen > 0) {
        piece = Buffer.concat([...pending, piece]);
        pending = [];
        pendingLen = 0;
      }
      if (mode === 'lf' && piece.length > 0 && piece[piece.length - 1] === CR) piece = piece.subarray(0, piece.length - 1);
      const text = decode(piece, lineNo, lineStart);
      if (text !== null) yield { text, line: lineNo, byte: lineStart };
      lineNo++;
      let next = i + 1;
      if (b === CR) {
        if (next < bytesRead) {
          if (buf[next] === LF) next++;
        } else {
          skipLfAfterCr = true;
        }
      }
      start = next;
      lineStart = filePos + next;
      i = next - 1;
    }
    if (start < bytesRead) {
      const rest = Buffer.from(buf.subarray(start, bytesRead)); // copy: buf is reused
      pending.push(rest);
      pendingLen += rest.length;
    }
    filePos += bytesRead;
    if (skipLfAfterCr) lineStart = filePos; // adjusted by one more if the next chunk starts with "\n"
  }
}
