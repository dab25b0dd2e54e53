/**
 * One split of a tokenized cache seen as a single token stream (its parts concatenated in index
 * order), read with positioned reads through the parts' offsets indexes (part-offsets.ts): no record
 * batch is decoded, and memory is a few numbers per record batch whatever the split's size.
 *
 *   const s = SplitTokens.open(dir, parts, offsets)
 *   s.tokens / s.documents
 *   s.readTokens(start, out)        out.length tokens of the stream from token `start`
 *   s.docStartsIn(start, end)       stream positions p, start < p < end, where a document begins
 *   s.docSpan(d)                    the token range [start, end) of document d
 *   s.close()
 *
 * List offsets read from a part are checked (non-decreasing, inside the batch's values); a part whose
 * bytes disagree with its offsets index is a PtflowError naming the file.
 */
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PtflowError } from '../errors';
import type { PartFile } from '../../schemas/token-cache';
import type { PartOffsets } from './part-offsets';

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

  private constructor(files: string[], offsets: PartOffsets[]) {
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
    let b = 0;
    let t = 0;
    let d = 0;
    offsets.forEach((o, p) => {
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
  static open(dir: string, parts: readonly PartFile[], offsets: readonly PartOffsets[]): SplitTokens {
    if (parts.length !== offsets.length) throw new Error(`internal: ${parts.length} parts, ${offsets.length} offsets indexes`);
    parts.forEach((p, k) => {
      if (offsets[k].part !== p.file) throw new Error(`internal: offsets of ${offsets[k].part} given for ${p.file}`);
    });
    return new SplitTokens(parts.map((p) => path.join(dir, p.file)), [...offsets]);
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
      const view = new Uint8Array(out.buffer, out.byteOffset + 4 * done, 4 * m);
      this.readInto(b, this.valAt[b] + 4 * (this.value0[b] + local), view);
      done += m;
    }
  }

  /** The list offsets of batch b, relative to its first token, checked. */
  private batchOffsets(b: number): Int32Array {
    const hit = this.offsetsCache.get(b);
    if (hit) {
      this.offsetsCache.delete(b);
      this.offsetsCache.set(b, hit);
      return hit;
    }
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
    const two = new Int32Array(2);
    this.readInto(b, this.offAt[b] + 4 * k, new Uint8Array(two.buffer));
    const v0 = this.value0[b];
    if (two[0] < v0 || two[1] < two[0] || two[1] - v0 > this.nTok[b]) throw this.corrupt(b);
    return { start: this.tokStart[b] + two[0] - v0, end: this.tokStart[b] + two[1] - v0 };
  }
}
