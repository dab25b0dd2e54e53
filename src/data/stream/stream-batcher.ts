/**
 * Training micro-batches from a stream of tokenized documents, as they arrive (`streaming: true`): packs
 * into blocks of `cutoff_len` with carry-over (or one row per document with `packing: false`) and hands
 * out a micro-batch as soon as `batchSize` rows are ready — no reshuffle of blocks, the shuffle buffer
 * did the shuffling. Each micro-batch comes with the cursor that resumes right after it: the shard state
 * at the start of the RawDocs batch that completed its last row, and the (document, token offset) in
 * that batch where the next block starts.
 *
 *   const b = new StreamBatcher(opts, resumeCursor | null)
 *   b.add(docs, shardState, epoch) → ReadyMicro[]
 *
 * Resuming: the shard re-sends the batch the cursor's state starts; the first `add` skips to the
 * cursor's document and token offset and packs from there with an empty carry — exactly the tokens the
 * interrupted run would have packed next, because a block always starts empty.
 */
import type { StreamCursor, StreamShardState } from '../../../schemas/stream-cursor';
import { PtflowError } from '../../errors';
import type { Row } from '../collate';
import { Packer, type PackerState } from '../packer';

export interface StreamBatcherOptions {
  cutoffLen: number;
  packing: boolean;
  /** Written over each block's first token (the tokenizer adds BOS); packing only. */
  bosId?: number;
  trackSegments: boolean;
  batchSize: number;
}

export interface BatcherSnapshot {
  packer: PackerState | null;
  rows: Row[];
  micro: number;
  resume: StreamCursor | null;
}

export interface ReadyMicro {
  rows: Row[];
  /** Data epoch of the documents that completed this micro-batch. */
  epoch: number;
  cursor: StreamCursor;
}

export class StreamBatcher {
  private readonly packer: Packer | null;
  private rows: Row[] = [];
  private micro: number;
  private resume: StreamCursor | null;

  constructor(
    private readonly opts: StreamBatcherOptions,
    resume: StreamCursor | null,
  ) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new PtflowError(`per_device_train_batch_size must be a positive integer, got ${opts.batchSize}`, 2);
    this.packer = opts.packing ? new Packer(opts.cutoffLen, { bosId: opts.bosId, trackSegments: opts.trackSegments }) : null;
    this.resume = resume;
    this.micro = resume?.micro ?? 0;
  }

  /** Everything `add` changes, to undo a half-processed batch (rows are never mutated once made). */
  snapshot(): BatcherSnapshot {
    return { packer: this.packer?.state() ?? null, rows: [...this.rows], micro: this.micro, resume: this.resume };
  }

  restore(s: BatcherSnapshot): void {
    if (this.packer && s.packer) this.packer.restore(s.packer);
    else this.packer?.flush();
    this.rows = [...s.rows];
    this.micro = s.micro;
    this.resume = s.resume;
  }

  /** Rows waiting for the next micro-batch, and tokens waiting for the next block. */
  get pending(): { rows: number; tokens: number } {
    return { rows: this.rows.length, tokens: this.packer?.pending ?? 0 };
  }

  /** `steps`: the pipeline steps' snapshots before this batch (its meta's), carried into each cursor made from it. */
  add(docs: readonly Int32Array[], state: StreamShardState, epoch: number, steps?: Record<string, unknown>): ReadyMicro[] {
    let firstDoc = 0;
    let firstToken = 0;
    if (this.resume) {
      const r = this.resume;
      this.resume = null;
      if (state.epoch !== r.shard.epoch || state.emitted !== r.shard.emitted || state.taken !== r.shard.taken) {
        throw new PtflowError(
          `stream resume: expected the batch at epoch ${r.shard.epoch}, document ${r.shard.emitted}, got epoch ${state.epoch}, document ${state.emitted}`,
        );
      }
      if (r.doc > docs.length || (r.doc < docs.length && r.token >= docs[r.doc].length && r.token > 0)) {
        throw new PtflowError(`stream resume: the cursor points at document ${r.doc} token ${r.token}, beyond the re-read batch (${docs.length} documents)`);
      }
      firstDoc = r.doc;
      firstToken = r.token;
    }
    const ready: ReadyMicro[] = [];
    const complete = (i: number, end: number): void => {
      if (this.rows.length < this.opts.batchSize) return;
      const next = end >= docs[i].length ? { doc: i + 1, token: 0 } : { doc: i, token: end };
      this.micro++;
      ready.push({ rows: this.rows, epoch, cursor: { kind: 'stream', shard: state, ...next, micro: this.micro, ...(steps ? { steps } : {}) } });
      this.rows = [];
    };
    for (let i = firstDoc; i < docs.length; i++) {
      const offset = i === firstDoc ? firstToken : 0;
      const ids = offset > 0 ? docs[i].subarray(offset) : docs[i];
      if (this.packer) {
        const before = this.packer.pending;
        const blocks = this.packer.push(ids);
        for (let k = 0; k < blocks.length; k++) {
          this.rows.push(blocks[k]);
          complete(i, offset + (k + 1) * this.opts.cutoffLen - before);
        }
      } else {
        this.rows.push(ids);
        complete(i, docs[i].length);
      }
    }
    return ready;
  }
}
