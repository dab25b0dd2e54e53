/**
 * One split of a tokenized cache seen as a single token stream (its parts concatenated in index
 * order), read with positioned reads through the parts' offsets indexes (part-offsets.ts): no record
 * batch is decoded, and memory is a few numbers per record batch whatever the split's size.
 *
 *   const s = SplitTokens.open(dir, parts, offsets, { vocabSize })
 *   s.tokens / s.documents
 *   s.readTokens(start, out)        out.length tokens of the stream from token `start`
 *   s.docStartsIn(start, end)       stream positions p, start < p < end, where a document begins
 *   s.docSpan(d)                    the token range [start, end) of document d
 *   s.verifyRange(start, end)       the content checks a read of [start, end) would do, without reading it
 *   s.close()
 *
 * List offsets read from a part are checked (non-decreasing, inside the batch's values); a part whose
 * bytes disagree with its offsets index is a PtflowError naming the file.
 *
 * Content checks, the in-memory reader's (arrow-part.ts) done lazily: the first time any read touches
 * a record batch, the whole batch's list offsets and token ids are read once and hashed against the
 * index's content_sha256 (part-checksum.ts), and with `vocabSize` every id is checked to lie below it;
 * only then is the read served. A batch that passed is remembered in a bitset (one bit per batch), so
 * each is checked once per open split and memory stays a few bytes per batch.
 */
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PtflowError } from '../errors';
import type { PartFile } from '../../schemas/token-cache';
import type { PartOffsets } from './part-offsets';
import { checksumMismatch, startBatchHash, tokenOutOfRange } from './part-checksum';

export interface SplitChecks {
  /** config.json's vocab_size: ids at or above it (or negative) are refused naming file and row. */
  vocabSize?: number | null;
  /** Verify content_sha256 where the index has it (default true; false only to measure its cost). */
  checksums?: boolean;
}

/** Token ids read per piece while a batch is verified (bounds the verifier's buffer to 1 MiB). */
const VERIFY_CHUNK = 1 << 18;

/** Record batches whose list offsets are kept decoded (neat_packing reads them for document starts). */
const OFFSETS_CACHE = 16;

export class SplitTokens {
  readonly tokens: number;
  readonly documents: number;
  private readonly fds: number[];
  private readonly files: string[];
  // One entry per record batch of every part, in stream order.
  private readonly part: Int32Array;
  private readonly tokStart: Float64Array;
  private readonly docStart: Float64Array;
  private readonly nTok: Float64Array;
  private readonly nDoc: Float64Array;
  private readonly offAt: Float64Array;
  private readonly valAt: Float64Array;
  private readonly value0: Float64Array;
  private readonly offsetsCache = new Map<number, Int32Array>();
  // Content checks: per part its checksums (undefined: none recorded or not checked), its first batch
  // and first document in stream order; one bit per batch once it has passed.
  private readonly expected: (readonly string[] | undefined)[];
  private readonly vocabSize: number | null;
  private readonly checking: boolean;
  private readonly partFirstBatch: Int32Array;
  private readonly partFirstDoc: Float64Array;
  private readonly verified: Uint8Array;
  private verifyBuf: Uint32Array | null = null;

  private constructor(files: string[], offsets: PartOffsets[], expected: (readonly string[] | undefined)[], vocabSize: number | null) {
    if (os.endianness() !== 'LE') throw new PtflowError('reading a tokenized cache by offset needs a little-endian machine (Arrow stores little-endian)');
    this.files = files;
    const n = offsets.reduce((a, o) => a + o.batches.length, 0);
    this.part = new Int32Array(n);
    this.tokStart = new Float64Array(n);
    this.docStart = new Float64Array(n);
    this.nTok = new Float64Array(n);
    this.nDoc = new Float64Array(n);
    this.offAt = new Float64Array(n);
    this.valAt = new Float64Array(n);
    this.value0 = new Float64Array(n);
    this.expected = expected;
    this.vocabSize = vocabSize;
    this.checking = vocabSize !== null || expected.some((e) => e !== undefined);
    this.partFirstBatch = new Int32Array(offsets.length);
    this.partFirstDoc = new Float64Array(offsets.length);
    this.verified = new Uint8Array((n + 7) >>> 3);
    let b = 0;
    let t = 0;
    let d = 0;
    offsets.forEach((o, p) => {
      const e = expected[p];
      if (e !== undefined && e.length !== o.batches.length) {
        throw new PtflowError(
          `tokenized cache file ${files[p]} holds ${o.batches.length} record batches, the index lists ${e.length}: the file is damaged; rebuild the cache with \`ptflow prepare\``,
          2,
        );
      }
      this.partFirstBatch[p] = b;
      this.partFirstDoc[p] = d;
      for (const [docs, toks, offAt, valAt, value0] of o.batches) {
        this.part[b] = p;
        this.tokStart[b] = t;
        this.docStart[b] = d;
        this.nTok[b] = toks;
        this.nDoc[b] = docs;
        this.offAt[b] = offAt;
        this.valAt[b] = valAt;
        this.value0[b] = value0;
        t += toks;
        d += docs;
        b++;
      }
    });
    this.tokens = t;
    this.documents = d;
    this.fds = [];
    try {
      for (const f of files) this.fds.push(fs.openSync(f, 'r'));
    } catch (e) {
      this.close();
      throw new PtflowError(`cannot open tokenized cache file: ${(e as Error).message}`);
    }
  }

  /** `offsets[k]` must describe `parts[k]` (ensurePartOffsets / readPartOffsets). */
  static open(dir: string, parts: readonly PartFile[], offsets: readonly PartOffsets[], checks: SplitChecks = {}): SplitTokens {
    if (parts.length !== offsets.length) throw new Error(`internal: ${parts.length} parts, ${offsets.length} offsets indexes`);
    parts.forEach((p, k) => {
      if (offsets[k].part !== p.file) throw new Error(`internal: offsets of ${offsets[k].part} given for ${p.file}`);
    });
    const expected = parts.map((p) => (checks.checksums === false ? undefined : p.content_sha256));
    const vocab = checks.vocabSize ?? null;
    return new SplitTokens(parts.map((p) => path.join(dir, p.file)), [...offsets], expected, vocab !== null && vocab > 0 ? vocab : null);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) fs.closeSync(fd);
  }

  /** The last batch whose `start[b] ≤ x` (a batch that holds x when x is inside the stream). */
  private static findIn(start: Float64Array, x: number): number {
    let lo = 0;
    let hi = start.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (start[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private readInto(b: number, pos: number, into: Uint8Array): void {
    const fd = this.fds[this.part[b]];
    let got = 0;
    while (got < into.length) {
      const n = fs.readSync(fd, into, got, into.length - got, pos + got);
      if (n === 0) throw new PtflowError(`tokenized cache file ${this.files[this.part[b]]} ends at byte ${pos + got}, inside a record batch its offsets index lists`);
      got += n;
    }
  }

  /** Fill `out` with the tokens of the stream from position `start`. */
  readTokens(start: number, out: Int32Array): void {
    if (start < 0 || start + out.length > this.tokens) throw new Error(`internal: tokens [${start}, ${start + out.length}) outside the split's ${this.tokens}`);
    let done = 0;
    while (done < out.length) {
      const t = start + done;
      const b = SplitTokens.findIn(this.tokStart, t);
      const local = t - this.tokStart[b];
      const m = Math.min(out.length - done, this.nTok[b] - local);
      this.ensureChecked(b);
      const view = new Uint8Array(out.buffer, out.byteOffset + 4 * done, 4 * m);
      this.readInto(b, this.valAt[b] + 4 * (this.value0[b] + local), view);
      done += m;
    }
  }

  /**
   * The content checks of every record batch holding tokens [start, end), now, as a read of them would
   * do (throwing as it would): lets a reader verify the batches of blocks it will serve soon while it
   * would otherwise wait (actors/CacheBlockActor.ts). Batches already verified cost nothing.
   */
  verifyRange(start: number, end: number): void {
    if (!this.checking || end <= start) return;
    for (let b = SplitTokens.findIn(this.tokStart, start); b < this.nTok.length && this.tokStart[b] < end; b++) this.ensureChecked(b);
  }

  /** The list offsets of batch b, relative to its first token, checked. */
  private batchOffsets(b: number): Int32Array {
    const hit = this.offsetsCache.get(b);
    if (hit) {
      this.offsetsCache.delete(b);
      this.offsetsCache.set(b, hit);
      return hit;
    }
    this.ensureChecked(b);
    const n = this.nDoc[b];
    const off = new Int32Array(n + 1);
    this.readInto(b, this.offAt[b], new Uint8Array(off.buffer));
    const v0 = this.value0[b];
    let ok = off[0] === v0 && off[n] - v0 === this.nTok[b];
    for (let k = 0; k <= n && ok; k++) {
      off[k] -= v0;
      if (k > 0 && off[k] < off[k - 1]) ok = false;
    }
    if (!ok) throw this.corrupt(b);
    if (this.offsetsCache.size >= OFFSETS_CACHE) this.offsetsCache.delete(this.offsetsCache.keys().next().value as number);
    this.offsetsCache.set(b, off);
    return off;
  }

  /** Batch b's content checks, once: see the header. Throws before any of its tokens is served. */
  private ensureChecked(b: number): void {
    if (!this.checking || (this.verified[b >>> 3] & (1 << (b & 7))) !== 0) return;
    const p = this.part[b];
    const file = this.files[p];
    const index = b - this.partFirstBatch[p];
    const firstRow = this.docStart[b] - this.partFirstDoc[p];
    const n = this.nDoc[b];
    const expected = this.expected[p];
    // The bytes the checksum covers: the n + 1 list offsets, then the ids they span (read where the
    // offsets index says token reads will look, so what is hashed is what is served).
    const off = new Int32Array(n + 1);
    this.readInto(b, this.offAt[b], new Uint8Array(off.buffer));
    const v0 = this.value0[b];
    const nTok = this.nTok[b];
    if (off[0] !== v0 || off[n] - off[0] !== nTok) throw expected ? checksumMismatch(file, index, firstRow, n) : this.corrupt(b);
    const h = expected ? startBatchHash(off) : null;
    const buf = (this.verifyBuf ??= new Uint32Array(VERIFY_CHUNK));
    const vocab = this.vocabSize;
    let bad = -1; // first out-of-range token of the batch, reported once the checksum has passed
    let badId = 0;
    for (let t = 0; t < nTok; t += VERIFY_CHUNK) {
      const m = Math.min(VERIFY_CHUNK, nTok - t);
      const bytes = new Uint8Array(buf.buffer, 0, 4 * m);
      this.readInto(b, this.valAt[b] + 4 * (v0 + t), bytes);
      h?.update(bytes);
      if (vocab !== null && bad < 0) {
        const i = firstAtOrAbove(buf, m, vocab);
        if (i >= 0) {
          bad = t + i;
          badId = buf[i] | 0;
        }
      }
    }
    if (h && h.digest('hex') !== expected?.[index]) throw checksumMismatch(file, index, firstRow, n);
    if (bad >= 0) {
      // The row holding token `bad`: the last k with off[k] - v0 <= bad (an empty row holds nothing).
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (off[mid] - v0 <= bad) lo = mid;
        else hi = mid - 1;
      }
      throw tokenOutOfRange(file, firstRow + lo, bad - (off[lo] - v0), badId, vocab as number);
    }
    this.verified[b >>> 3] |= 1 << (b & 7);
  }

  private corrupt(b: number): PtflowError {
    return new PtflowError(
      `tokenized cache file ${this.files[this.part[b]]}: the list offsets of a record batch do not match its offsets index ` +
        '(the part was changed after it was written); rebuild the cache with `ptflow prepare` (or overwrite_cache: true)',
    );
  }

  /** Stream positions p with start < p < end where a document begins. */
  docStartsIn(start: number, end: number): number[] {
    const out: number[] = [];
    if (end - start < 2) return out;
    for (let b = SplitTokens.findIn(this.tokStart, start); b < this.nTok.length && this.tokStart[b] < end; b++) {
      if (this.nDoc[b] === 0) continue;
      const off = this.batchOffsets(b);
      const base = this.tokStart[b];
      // first row starting after `start`
      let lo = 0;
      let hi = this.nDoc[b];
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (base + off[mid] > start) hi = mid;
        else lo = mid + 1;
      }
      for (let k = lo; k < this.nDoc[b]; k++) {
        const p = base + off[k];
        if (p >= end) break;
        if (out.length === 0 || out[out.length - 1] !== p) out.push(p);
      }
    }
    return out;
  }

  /** Token range [start, end) of document d of the stream. */
  docSpan(d: number): { start: number; end: number } {
    if (d < 0 || d >= this.documents) throw new Error(`internal: document ${d} outside the split's ${this.documents}`);
    const b = SplitTokens.findIn(this.docStart, d);
    const k = d - this.docStart[b];
    this.ensureChecked(b);
    const two = new Int32Array(2);
    this.readInto(b, this.offAt[b] + 4 * k, new Uint8Array(two.buffer));
    const v0 = this.value0[b];
    if (two[0] < v0 || two[1] < two[0] || two[1] - v0 > this.nTok[b]) throw this.corrupt(b);
    return { start: this.tokStart[b] + two[0] - v0, end: this.tokStart[b] + two[1] - v0 };
  }
}

/**
 * Index of the first of ids[0..m) at or above `limit`, else −1. The ids are Int32 read as Uint32, so a
 * negative id is ≥ 2^31 and caught by the same single compare (half the work of `id < 0 || id ≥ limit`).
 */
function firstAtOrAbove(ids: Uint32Array, m: number, limit: number): number {
  for (let i = 0; i < m; i++) if (ids[i] >= limit) return i;
  return -1;
}
