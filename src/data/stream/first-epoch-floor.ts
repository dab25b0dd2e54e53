/**
 * A streamed corpus too small to train on is refused as the non-streamed one is ("Cannot find
 * sufficient samples": fewer tokens than one block of cutoff_len). A stream never ends, so the check
 * runs when the first training document of epoch 1 arrives, on what epoch 0 held — only when this
 * run saw epoch 0 from its first document (a resumed run starts mid-stream).
 */
import { PtflowError } from '../../errors';

/** The fields read from a tokens message's meta (a streamed run's StreamDocsMeta, shard-stream.ts). */
interface FloorMetaFields {
  split?: unknown;
  first?: unknown;
  epoch?: unknown;
}

export class FirstEpochFloor {
  private tokens = 0;
  private docs = 0;
  private fromStart = false;
  private settled = false;

  constructor(
    private readonly cutoffLen: number,
    private readonly packing: boolean,
  ) {}

  /** Call for every tokenized message, in stream order, with its meta and what it held. */
  see(meta: unknown, tokens: number, docs: number): void {
    const m = (meta ?? {}) as FloorMetaFields;
    if (this.settled || m.split !== 'train' || typeof m.epoch !== 'number') return; // not a streamed training batch
    if (m.epoch === 0) {
      if (m.first === 0) this.fromStart = true;
      this.tokens += tokens;
      this.docs += docs;
      return;
    }
    this.settled = true;
    const none = this.packing ? this.tokens < this.cutoffLen : this.docs === 0;
    if (this.fromStart && none) {
      throw new PtflowError(
        `Cannot find sufficient samples, consider increasing dataset size. (one pass over the streamed datasets: ${this.docs} documents, ` +
          `${this.tokens} tokens: fewer than one block of cutoff_len ${this.cutoffLen})`,
        2,
      );
    }
  }
}
