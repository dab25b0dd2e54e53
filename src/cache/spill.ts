/**
 * A scratch file of tokenized documents, written in the order they are read from the datasets and
 * read back in any order: how `ptflow prepare` puts documents into split order (shuffled by
 * val_size, interleaved, sampled) without holding the corpus in memory.
 *
 *   const s = new Spill(file, expectedSources?);  s.put(sourceIndex, ids);  …  s.seal();
 *   s.get(sourceIndex) → Int32Array;  s.close()   (removes the file)
 *
 * Memory: 12 bytes per source document (position and length) plus a write buffer.
 */
import * as fs from 'node:fs';
import { PtflowError } from '../errors';

const WRITE_BUFFER_INTS = 1 << 20;

/** Fills `bytes` from `position` of a scratch file (a short read means it was cut off). */
export function readExactly(fd: number, file: string, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.readSync(fd, bytes, done, bytes.length - done, position + done);
    if (n === 0) throw new PtflowError(`${file}: scratch file ended early (disk full?)`);
    done += n;
  }
}

export class Spill {
  private readonly fd: number;
  /** Position (in Int32 units) of each source document, −1 when absent; grown as needed. */
  private start: Float64Array;
  private length: Int32Array;
  private buffer = new Int32Array(WRITE_BUFFER_INTS);
  private buffered = 0;
  private written = 0;

  constructor(
    readonly file: string,
    sources = 1024,
  ) {
    this.fd = fs.openSync(file, 'w+');
    this.start = new Float64Array(Math.max(1, sources)).fill(-1);
    this.length = new Int32Array(Math.max(1, sources));
  }

  put(source: number, ids: Int32Array): void {
    if (source >= this.start.length) this.grow(source + 1);
    if (this.start[source] >= 0) return; // a document sampled twice is stored once
    this.start[source] = this.written + this.buffered;
    this.length[source] = ids.length;
    if (this.buffered + ids.length > this.buffer.length) this.flush();
    if (ids.length > this.buffer.length) {
      this.writeInts(ids);
      return;
    }
    this.buffer.set(ids, this.buffered);
    this.buffered += ids.length;
  }

  /** Write out what is buffered; call before the first `get`. */
  seal(): void {
    this.flush();
  }

  has(source: number): boolean {
    return source < this.start.length && this.start[source] >= 0;
  }

  get(source: number): Int32Array {
    const at = source < this.start.length ? this.start[source] : -1;
    if (at < 0) throw new PtflowError(`internal: document ${source} was not tokenized`);
    const out = new Int32Array(this.length[source]);
    const bytes = new Uint8Array(out.buffer);
    readExactly(this.fd, this.file, bytes, at * 4);
    return out;
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } finally {
      fs.rmSync(this.file, { force: true });
    }
  }

  private grow(min: number): void {
    const n = Math.max(min, this.start.length * 2);
    const start = new Float64Array(n).fill(-1);
    start.set(this.start);
    const length = new Int32Array(n);
    length.set(this.length);
    this.start = start;
    this.length = length;
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeInts(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  private writeInts(ids: Int32Array): void {
    const bytes = new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, (this.written * 4) + done);
    this.written += ids.length;
  }
}
