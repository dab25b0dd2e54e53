/**
 * The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian
 * header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}}, optional
 * `__metadata__` string map), then the tensor bytes. Reading is streamed: the header first, then
 * each tensor's own byte range into its own array, so a large file never needs twice its size in
 * memory. Writing emits F32/I32/I64, names sorted, header padded with spaces to a multiple of 8 as
 * the reference Rust library does, atomically (temp file + rename). A tensor is given either as
 * an array (written as it is) or as a `TensorSource` that copies its bytes out on demand: those
 * pass to the file a few MiB at a time through one reused buffer, so saving the tensors of a
 * backend (weights, AdamW moments) never holds a second copy of them.
 * Every error names the file and, where there is one, the tensor.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import { PtflowError } from '../../errors';
import { withAtomicFile } from './atomic';
import {
  DTYPE_BYTES, KNOWN_DTYPES, ReadableDtype, TensorArray, WritableDtype, decodeBytes, dtypeOfArray, isFloatDtype, isReadableDtype,
} from './dtype';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: ReadableDtype;
  shape: number[];
  /** Byte range relative to the start of the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Byte position in the file where the data section starts (8 + N). */
  dataStart: number;
  metadata: Record<string, string>;
  /** Entries in file order (ascending offsets). */
  entries: TensorEntry[];
  byName: Map<string, TensorEntry>;
}

export interface LoadedTensor {
  dtype: ReadableDtype;
  shape: number[];
  data: TensorArray;
}

/** A float tensor as ptflow's weights are passed around: HF shape, row-major values. */
export interface FloatTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** What `writeSafetensors` accepts per tensor: an array in memory. */
export interface WritableTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

/** Copies bytes [begin, begin + dst.byteLength) of a tensor's row-major data into `dst`. */
export type ByteReader = (begin: number, dst: Uint8Array) => void;

/**
 * A tensor whose bytes are copied out by the writer, chunk by chunk (engine/io/tf-tensor-source.ts
 * makes them for tfjs tensors). `open` is called once, right before the tensor's bytes are
 * written; the reader it returns is called synchronously per chunk, so it may read memory that is
 * only valid until the next await (a wasm heap view).
 */
export interface TensorSource {
  shape: readonly number[];
  dtype: WritableDtype;
  /** Number of elements (must equal the product of `shape`). */
  length: number;
  open(): ByteReader;
}

export type SavableTensor = WritableTensor | TensorSource;

/** Bytes a source is copied through at most (a reused buffer of this size per file written). */
export const STREAM_CHUNK_BYTES = 4 * 1024 * 1024;

function isSource(t: SavableTensor): t is TensorSource {
  return typeof (t as TensorSource).open === 'function';
}

/** The tensor's safetensors dtype, element count and byte size. */
export function savableLayout(t: SavableTensor): { dtype: WritableDtype; length: number; byteLength: number } {
  if (isSource(t)) return { dtype: t.dtype, length: t.length, byteLength: t.length * DTYPE_BYTES[t.dtype] };
  return { dtype: dtypeOfArray(t.data), length: t.data.length, byteLength: t.data.byteLength };
}

function assertLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new PtflowError('safetensors IO needs a little-endian machine');
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

async function readExactly(fh: fsp.FileHandle, into: Uint8Array, position: number, file: string, what: string): Promise<void> {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < into.byteLength) {
    const len = Math.min(CHUNK, into.byteLength - done);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) throw new PtflowError(`${file}: truncated file while reading ${what}`);
    done += bytesRead;
  }
}

/** Parse and validate a header (the JSON text and the size of the data section that follows it). */
export function parseHeader(file: string, json: string, dataStart: number, dataBytes: number): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new PtflowError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PtflowError(`${file}: safetensors header must be a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new PtflowError(`${file}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new PtflowError(`${file}: __metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(file, name, value, dataBytes));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: TensorEntry | undefined;
  for (const e of entries) {
    if (e.begin < cursor) {
      throw new PtflowError(`${file}: tensor ${e.name} bytes [${e.begin}, ${e.end}) overlap tensor ${prev?.name} [${prev?.begin}, ${prev?.end})`);
    }
    if (e.begin > cursor) {
      throw new PtflowError(`${file}: tensor ${e.name} starts at byte ${e.begin} but the previous tensor ends at ${cursor} (gap in data section)`);
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataBytes) {
    throw new PtflowError(`${file}: tensors cover ${cursor} bytes but the data section has ${dataBytes} (file size does not match header)`);
  }
  return { file, dataStart, metadata, entries, byName: new Map(entries.map((e) => [e.name, e])) };
}

function parseEntry(file: string, name: string, value: unknown, dataBytes: number): TensorEntry {
  const where = `${file}: tensor ${name}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new PtflowError(`${where}: header entry must be an object`);
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== 'string') throw new PtflowError(`${where}: missing dtype`);
  if (!isReadableDtype(dtype)) {
    const known = (KNOWN_DTYPES as readonly string[]).includes(dtype);
    throw new PtflowError(`${where}: ${known ? 'unsupported' : 'unknown'} dtype ${dtype} (readable: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new PtflowError(`${where}: shape must be a list of non-negative integers`);
  }
  const off = v.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new PtflowError(`${where}: data_offsets must be [begin, end]`);
  }
  const [begin, end] = off as [number, number];
  if (end < begin) throw new PtflowError(`${where}: data_offsets [${begin}, ${end}] end before begin`);
  if (end > dataBytes) {
    throw new PtflowError(`${where}: data_offsets [${begin}, ${end}] out of range (data section has ${dataBytes} bytes; file truncated?)`);
  }
  const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw new PtflowError(`${where}: ${end - begin} bytes but shape [${shape.join(', ')}] × ${dtype} needs ${expected}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Read and validate only the header of a safetensors file (tensor bytes are not read). */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(file);
  try {
    return await readHeaderFrom(fh, file);
  } finally {
    await fh.close();
  }
}

/**
 * Open a safetensors file and read its header; its tensors are then read one at a time with
 * `readTensor`. The caller closes `fh`.
 */
export async function openSafetensors(file: string): Promise<{ fh: fsp.FileHandle; header: SafetensorsHeader }> {
  const fh = await openForRead(file);
  try {
    return { fh, header: await readHeaderFrom(fh, file) };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function openForRead(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (e) {
    throw new PtflowError(`cannot open ${file}: ${(e as Error).message}`);
  }
}

async function readHeaderFrom(fh: fsp.FileHandle, file: string): Promise<SafetensorsHeader> {
  assertLittleEndian();
  const size = (await fh.stat()).size;
  if (size < 8) throw new PtflowError(`${file}: truncated file (${size} bytes; a safetensors file starts with an 8-byte header length)`);
  const lenBuf = new Uint8Array(8);
  await readExactly(fh, lenBuf, 0, file, 'the header length');
  const n64 = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (n64 > BigInt(size - 8)) {
    throw new PtflowError(`${file}: header length ${n64} runs past the end of the file (${size} bytes; truncated or not a safetensors file)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) throw new PtflowError(`${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const hdr = new Uint8Array(n);
  await readExactly(fh, hdr, 8, file, 'the header');
  const text = Buffer.from(hdr.buffer, hdr.byteOffset, hdr.byteLength).toString('utf8');
  return parseHeader(file, text, 8 + n, size - 8 - n);
}

/** Read one tensor's bytes (located by `header`) from an open file and decode them. */
export async function readTensor(fh: fsp.FileHandle, header: SafetensorsHeader, name: string): Promise<LoadedTensor> {
  const e = header.byName.get(name);
  if (!e) throw new PtflowError(`${header.file}: no tensor named ${name}`);
  const count = numel(e.shape);
  const nbytes = e.end - e.begin;
  const pos = header.dataStart + e.begin;
  const what = `tensor ${name}`;
  let data: TensorArray;
  if (e.dtype === 'F32' || e.dtype === 'I32' || e.dtype === 'I64') {
    // Read straight into the destination array: no second copy.
    data = e.dtype === 'F32' ? new Float32Array(count) : e.dtype === 'I32' ? new Int32Array(count) : new BigInt64Array(count);
    await readExactly(fh, new Uint8Array(data.buffer, 0, nbytes), pos, header.file, what);
  } else {
    const raw = new Uint8Array(nbytes);
    await readExactly(fh, raw, pos, header.file, what);
    data = decodeBytes(e.dtype, raw, count);
  }
  return { dtype: e.dtype, shape: e.shape.slice(), data };
}

export interface ReadOptions {
  /** Read only the tensors this accepts (default: all). */
  filter?: (name: string) => boolean;
}

/** Read a whole safetensors file (or the filtered subset of its tensors), in file order. */
export async function readSafetensors(
  file: string,
  opts: ReadOptions = {},
): Promise<{ metadata: Record<string, string>; tensors: Map<string, LoadedTensor> }> {
  const fh = await openForRead(file);
  try {
    const header = await readHeaderFrom(fh, file);
    const tensors = new Map<string, LoadedTensor>();
    for (const e of header.entries) {
      if (opts.filter && !opts.filter(e.name)) continue;
      tensors.set(e.name, await readTensor(fh, header, e.name));
    }
    return { metadata: header.metadata, tensors };
  } finally {
    await fh.close();
  }
}

/** Require a loaded tensor to be floating point (F32/F16/BF16/F64) and return it as a FloatTensor. */
export function asFloatTensor(t: LoadedTensor, file: string, name: string): FloatTensor {
  if (!isFloatDtype(t.dtype) || !(t.data instanceof Float32Array)) {
    throw new PtflowError(`${file}: tensor ${name} has dtype ${t.dtype}; a floating-point tensor was expected`);
  }
  return { shape: t.shape, data: t.data };
}

/** Read a file whose tensors are all floating point, as Float32Arrays. */
export async function readSafetensorsF32(
  file: string,
  opts: ReadOptions = {},
): Promise<{ metadata: Record<string, string>; tensors: Map<string, FloatTensor> }> {
  const { metadata, tensors } = await readSafetensors(file, opts);
  const out = new Map<string, FloatTensor>();
  for (const [name, t] of tensors) out.set(name, asFloatTensor(t, file, name));
  return { metadata, tensors: out };
}

/** Build the header bytes (length prefix + space-padded JSON) and the tensor order for `tensors`. */
export function encodeHeader(
  tensors: ReadonlyMap<string, SavableTensor>,
  metadata?: Readonly<Record<string, string>>,
  file = '<memory>',
): { prefix: Uint8Array; order: string[]; dataBytes: number } {
  const order = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of order) {
    if (name === '__metadata__') throw new PtflowError(`${file}: a tensor cannot be named __metadata__`);
    const t = tensors.get(name)!;
    const { dtype, length, byteLength: bytes } = savableLayout(t);
    const n = numel(t.shape);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new PtflowError(`${file}: tensor ${name} has invalid shape [${t.shape.join(', ')}]`);
    }
    if (n !== length) {
      throw new PtflowError(`${file}: tensor ${name} has ${length} values but shape [${t.shape.join(', ')}] needs ${n}`);
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  return { prefix, order, dataBytes: offset };
}

/**
 * Write `tensors` to `file` atomically. Arrays are written as they are (F32, I32, I64), one after
 * another, never concatenated in memory; sources are copied through one buffer of at most
 * `chunkBytes` (default STREAM_CHUNK_BYTES), allocated once for the file. The bytes are the same
 * either way. Metadata values must be strings (format rule).
 */
export async function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, SavableTensor>,
  metadata?: Readonly<Record<string, string>>,
  opts: { chunkBytes?: number } = {},
): Promise<void> {
  assertLittleEndian();
  const { prefix, order } = encodeHeader(tensors, metadata, file);
  const chunkBytes = opts.chunkBytes ?? STREAM_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new PtflowError(`${file}: chunk size must be a positive integer, got ${chunkBytes}`);
  let largestSource = 0;
  for (const t of tensors.values()) if (isSource(t)) largestSource = Math.max(largestSource, savableLayout(t).byteLength);
  // Sized to the largest source when that is smaller (a LoRA adapter's tensors are small).
  const chunk = largestSource > 0 ? new Uint8Array(Math.min(chunkBytes, largestSource)) : null;
  await withAtomicFile(file, async (fh) => {
    let pos = 0;
    const put = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.byteLength) {
        const len = Math.min(1 << 30, bytes.byteLength - done);
        const { bytesWritten } = await fh.write(bytes, done, len, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(prefix);
    for (const name of order) {
      const t = tensors.get(name)!;
      if (!isSource(t)) {
        await put(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        continue;
      }
      const total = savableLayout(t).byteLength;
      const read = sourceStep(file, name, () => t.open());
      for (let begin = 0; begin < total; begin += chunk!.byteLength) {
        const part = chunk!.subarray(0, Math.min(chunk!.byteLength, total - begin));
        sourceStep(file, name, () => read(begin, part));
        await put(part);
      }
    }
  });
}

/** Run a source's step; its failure (a disposed tensor, say) names the file and the tensor. */
function sourceStep<T>(file: string, name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new PtflowError(`${file}: cannot read tensor ${name}: ${(e as Error).message}`);
  }
}
