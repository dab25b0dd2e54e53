/**
 * A scratch file of documents (text and source name), written in the order they are read and read
 * back in any order: how `ptflow prepare` hands documents to the pipeline steps in split order
 * without holding the corpus in memory (src/cache/build-filtered.ts). The text counterpart of spill.ts.
 *
 *   const s = new TextSpill(file);  s.put(sourceIndex, text, source);  …  s.seal();
 *   s.get(sourceIndex) → { text, source };  s.close()   (removes the file)
 *
 * Memory: 16 bytes per source document plus the distinct source names and a write buffer.
 */
import * as fs from 'node:fs';
import { PtflowError } from '../errors';
import { readExactly } from './spill';

const WRITE_BUFFER_BYTES = 1 << 22;

export class TextSpill {
  private readonly fd: number;
  /** Byte position of each document, −1 when absent; grown as needed. */
  private start = new Float64Array(1024).fill(-1);
  private length = new Int32Array(1024);
  private sourceOf = new Int32Array(1024);
  private readonly sources: string[] = [];
  private readonly sourceIndex = new Map<string, number>();
  private buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private buffered = 0;
  private written = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w+');
  }

  put(doc: number, text: string, source: string): void {
    if (doc >= this.start.length) this.grow(doc + 1);
    if (this.start[doc] >= 0) return;
    let s = this.sourceIndex.get(source);
    if (s === undefined) {
      s = this.sources.push(source) - 1;
      this.sourceIndex.set(source, s);
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    this.start[doc] = this.written + this.buffered;
    this.length[doc] = bytes;
    this.sourceOf[doc] = s;
    if (this.buffered + bytes > this.buffer.length) this.flush();
    if (bytes > this.buffer.length) {
      this.writeBytes(Buffer.from(text, 'utf8'));
      return;
    }
    this.buffer.write(text, this.buffered, 'utf8');
    this.buffered += bytes;
  }

  /** Write out what is buffered; call before the first `get`. */
  seal(): void {
    this.flush();
  }

  get(doc: number): { text: string; source: string } {
    const at = doc < this.start.length ? this.start[doc] : -1;
    if (at < 0) throw new PtflowError(`internal: document ${doc} was not read`);
    const bytes = Buffer.allocUnsafe(this.length[doc]);
    readExactly(this.fd, this.file, bytes, at);
    return { text: bytes.toString('utf8'), source: this.sources[this.sourceOf[doc]] };
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
    const sourceOf = new Int32Array(n);
    sourceOf.set(this.sourceOf);
    this.start = start;
    this.length = length;
    this.sourceOf = sourceOf;
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeBytes(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  private writeBytes(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, this.written + done);
    this.written += bytes.length;
  }
}
