/**
 * The bytes of a data file, decompressed on the fly by its suffix: `x.jsonl` is read as is,
 * `x.jsonl.gz` through node:zlib's streaming gunzip (concatenated gzip members included),
 * `x.jsonl.zst` through fzstd's streaming decompressor (pure JS; concatenated frames included).
 *
 *   compressionOf(file)           → 'gzip' | 'zstd' | undefined
 *   stripCompression(file)        → the name without ".gz" / ".zst" (gives the format's extension)
 *   openChunks(file, chunkBytes?) → AsyncGenerator<Buffer>   fresh buffers, never reused
 *
 * Memory stays bounded: compressed input is read `chunkBytes` at a time (zstd input in at most
 * 256 KiB pieces, so one piece's output stays small even at high compression ratios), and output is
 * handed on chunk by chunk. A truncated or corrupt stream, or an empty compressed file, is a
 * `RecordError` (bad data: on_bad_record may skip the rest of the file) naming the file and how many
 * bytes were decompressed before the failure (also its `at.byte`); the chunks before it were yielded.
 */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { PtflowError } from '../../errors';
import { RecordError } from './record-error';
import { DEFAULT_CHUNK_BYTES } from './types';

export type Compression = 'gzip' | 'zstd';

const SUFFIX: ReadonlyArray<[string, Compression]> = [
  ['.gz', 'gzip'],
  ['.gzip', 'gzip'],
  ['.zst', 'zstd'],
  ['.zstd', 'zstd'],
];

/** The compression a file name says it has (".gz", ".gzip", ".zst", ".zstd", any case). */
export function compressionOf(file: string): Compression | undefined {
  const lower = file.toLowerCase();
  for (const [suffix, kind] of SUFFIX) if (lower.endsWith(suffix)) return kind;
  return undefined;
}

/** The file name without its compression suffix: "a/b.jsonl.zst" → "a/b.jsonl". */
export function stripCompression(file: string): string {
  const lower = file.toLowerCase();
  for (const [suffix] of SUFFIX) if (lower.endsWith(suffix)) return file.slice(0, -suffix.length);
  return file;
}

/** Largest compressed piece handed to the zstd decompressor at once. */
const ZSTD_PIECE = 256 << 10;

/** The decompressed bytes of `file` in chunks (each a fresh buffer the caller may keep). */
export async function* openChunks(file: string, chunkBytes: number = DEFAULT_CHUNK_BYTES): AsyncGenerator<Buffer, void, undefined> {
  const size = Math.max(16, chunkBytes);
  const kind = compressionOf(file);
  if (kind === 'gzip') yield* gunzipChunks(file, size);
  else if (kind === 'zstd') yield* zstdChunks(file, size);
  else yield* rawChunks(file, size);
}

async function openFile(file: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(file, 'r');
  } catch (e) {
    throw new PtflowError(`Cannot open ${file}: ${(e as Error).message}`);
  }
}

/** The file's bytes as they are, `size` at a time. */
async function* rawChunks(file: string, size: number): AsyncGenerator<Buffer, void, undefined> {
  const handle = await openFile(file);
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await readOrThrow(handle, buf, file);
      if (bytesRead === 0) return;
      yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

async function readOrThrow(handle: fs.promises.FileHandle, buf: Buffer, file: string): Promise<{ bytesRead: number }> {
  try {
    return await handle.read(buf, 0, buf.length, null);
  } catch (e) {
    throw new PtflowError(`${file}: read error: ${(e as Error).message}`);
  }
}

function decompressError(file: string, kind: Compression, produced: number, detail: string): RecordError {
  return new RecordError(file, `corrupt or truncated ${kind} data after ${produced} decompressed bytes (${detail})`, { byte: produced });
}

async function* gunzipChunks(file: string, size: number): AsyncGenerator<Buffer, void, undefined> {
  const handle = await openFile(file);
  if ((await handle.stat()).size === 0) {
    await handle.close();
    throw new RecordError(file, 'empty file (not gzip data)', { byte: 0 });
  }
  // The stream owns the handle from here on and closes it when it ends or is destroyed.
  const source = handle.createReadStream({ highWaterMark: size });
  const gunzip = zlib.createGunzip({ chunkSize: Math.max(1024, Math.min(size, 1 << 20)) });
  let readError: Error | undefined;
  source.on('error', (e) => (readError = e));
  // pipeline handles back-pressure and hands either stream's error to `gunzip`, i.e. to the loop below.
  pipeline(source, gunzip, () => undefined);
  let produced = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (e) {
    if (readError) throw new PtflowError(`${file}: read error: ${readError.message}`);
    throw decompressError(file, 'gzip', produced, (e as Error).message);
  } finally {
    gunzip.destroy();
    source.destroy();
  }
}

async function* zstdChunks(file: string, size: number): AsyncGenerator<Buffer, void, undefined> {
  const handle = await openFile(file);
  let out: Buffer[] = [];
  const z = new Decompress((data) => {
    // In streaming mode fzstd allocates each block's output afresh: wrap it without copying.
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  let produced = 0;
  let consumed = 0;
  const push = (piece: Uint8Array, final: boolean): Buffer[] => {
    try {
      z.push(piece, final);
    } catch (e) {
      throw decompressError(file, 'zstd', produced + out.reduce((n, b) => n + b.length, 0), (e as Error).message);
    }
    const ready = out;
    out = [];
    for (const b of ready) produced += b.length;
    return ready;
  };
  try {
    const pieceSize = Math.min(size, ZSTD_PIECE);
    for (;;) {
      const buf = Buffer.allocUnsafe(pieceSize);
      const { bytesRead } = await readOrThrow(handle, buf, file);
      if (bytesRead === 0) break;
      consumed += bytesRead;
      yield* push(buf.subarray(0, bytesRead), false);
    }
    if (consumed === 0) throw new RecordError(file, 'empty file (not zstd data)', { byte: 0 });
    yield* push(new Uint8Array(0), true);
  } finally {
    await handle.close();
  }
}
