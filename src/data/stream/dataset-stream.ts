/**
 * One dataset read as a stream of positioned documents, file after file in this epoch's file order,
 * with one document of look-ahead (`peek`, so a mixer can tell that a source has just been used up, as
 * the map-style stopping strategies need) and a position that always names the next document not yet
 * taken — what a cursor stores. Only the current file is open; one record is held at most. With
 * `onBadRecord` (on_bad_record: skip) bad records are reported there and passed over.
 */
import type { SourcePos } from '../../../schemas/stream-cursor';
import type { BadRecordHandler } from '../readers';
import type { DatasetSpec } from '../registry';
import { recordsFrom, type IoCounter, type Rec } from './file-records';

/** A document of the stream: its text and where it lives (global file id, its position and the next record's). */
export interface StreamDoc {
  text: string;
  fileId: number;
  pos: number;
  next: number;
}

export interface DatasetStreamOptions {
  io: IoCounter;
  chunkBytes?: number;
  onBadRecord?: BadRecordHandler;
}

export class DatasetStream {
  private it: AsyncGenerator<Rec, void, undefined> | null = null;
  private peeked: StreamDoc | null = null;
  private at: SourcePos;

  /**
   * @param spec the dataset
   * @param fileIdBase global id of `spec.files[0]` (files of all datasets numbered in order)
   * @param order this epoch's file order (indices into `spec.files`)
   * @param start where to begin (default: the first record of the first file)
   */
  constructor(
    private readonly spec: DatasetSpec,
    private readonly fileIdBase: number,
    private readonly order: readonly number[],
    private readonly opts: DatasetStreamOptions,
    start: SourcePos = { order: 0, pos: 0 },
  ) {
    this.at = { ...start };
  }

  get name(): string {
    return this.spec.name;
  }

  /** Position of the next document not yet taken. */
  position(): SourcePos {
    return { ...this.at };
  }

  /** The next document without taking it (null: the dataset is used up). */
  async peek(): Promise<StreamDoc | null> {
    if (this.peeked) return this.peeked;
    while (this.at.order < this.order.length) {
      const fileIndex = this.order[this.at.order];
      if (!this.it) {
        const ref = { file: this.spec.files[fileIndex], format: this.spec.format, textColumn: this.spec.textColumn };
        this.it = recordsFrom(ref, this.at.pos, this.opts.io, this.opts.chunkBytes, this.opts.onBadRecord);
      }
      const r = await this.it.next();
      if (!r.done) {
        this.peeked = { text: r.value.text, fileId: this.fileIdBase + fileIndex, pos: r.value.pos, next: r.value.next };
        this.at = { order: this.at.order, pos: r.value.pos };
        this.nextPos = r.value.next;
        return this.peeked;
      }
      this.it = null;
      this.at = { order: this.at.order + 1, pos: 0 };
    }
    return null;
  }

  private nextPos = 0;

  /** Take the next document (null: used up). */
  async take(): Promise<StreamDoc | null> {
    const d = await this.peek();
    if (d) {
      this.peeked = null;
      this.at = { order: this.at.order, pos: this.nextPos };
    }
    return d;
  }

  /** Start over from the first file (same order): interleave_over restarts a used-up source. */
  async restart(): Promise<void> {
    await this.close();
    this.at = { order: 0, pos: 0 };
  }

  async close(): Promise<void> {
    const it = this.it;
    this.it = null;
    this.peeked = null;
    if (it) await it.return(undefined);
  }
}
