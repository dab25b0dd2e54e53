/**
 * Verify ahead: the cache reader (actors/CacheBlockActor.ts) spends the time it waits for the trainer's
 * credit running the content checks (split-tokens.ts: sha256 and vocab_size, once per record batch)
 * of the blocks it will send next, instead of when it reads them. Those checks cost ~4 ms per record
 * batch of 2^20 tokens, and at the start of an epoch almost every block touches a batch not yet
 * verified; done ahead, the checks of the first micro-batches run while the trainer is still setting
 * up (loading its model) instead of beside its first steps (measured: bench/cache-read-cost.ts). The
 * CPU spent is the same, only its time moves; a reader that is never blocked never verifies ahead.
 * The reader does it only in its first wait: later waits are the trainer's steps, and on a machine
 * whose cores the trainer's threads fill, checks run then would only slow the steps down.
 *
 *   const ahead = new VerifyAhead(microBatches, src, maxBlocks)
 *   ahead.next()                  the next micro-batch, in the generator's order (queued ones first)
 *   await ahead.whileWaiting(p)   until p settles: draw up to maxBlocks blocks of micro-batches ahead
 *                                 and verify them one block at a time, letting messages in between;
 *                                 true when it had to wait
 *
 * A failed check ahead is not reported here: looking ahead stops, and the block's own read, when its
 * turn comes, fails the same way, so a damaged batch stops the run exactly where it would without
 * looking ahead and never before the blocks ahead of it are sent.
 */
import type { MicroBatchRows } from './block-order';

/**
 * How far ahead the cache reader verifies, in blocks: 512 blocks touch up to 512 record batches, ~2 s
 * of checks, about what a trainer's setup leaves the reader at the start of a run.
 */
export const VERIFY_AHEAD_BLOCKS = 512;

export interface Verifiable {
  /** The content checks reading row i would do (BlockSource.verify); throws as the read would. */
  verify(i: number): void;
}

export class VerifyAhead<C> {
  /** Micro-batches drawn from the generator, not yet handed out by next(). */
  private readonly queue: MicroBatchRows<C>[] = [];
  private queuedRows = 0;
  /** Rows of the queued micro-batches not verified yet: always the last ones of the queue, in order. */
  private pending: number[] = [];
  private stopped = false;

  constructor(
    private readonly batches: Iterator<MicroBatchRows<C>>,
    private readonly src: Verifiable,
    private readonly maxBlocks: number,
  ) {}

  next(): MicroBatchRows<C> {
    const mb = this.queue.shift();
    if (mb === undefined) return this.draw();
    this.queuedRows -= mb.rows.length;
    if (this.pending.length > this.queuedRows) this.pending = this.pending.slice(this.pending.length - this.queuedRows);
    return mb;
  }

  /**
   * Verifies ahead until `p` settles (or there is nothing left to do within maxBlocks), then awaits
   * it. True when `p` had not settled at once (the caller waited).
   */
  async whileWaiting(p: Promise<void>): Promise<boolean> {
    let settled = false;
    const settle = (): void => void (settled = true);
    p.then(settle, settle);
    await immediate(); // a send that had credit has settled by now: no work ahead of it
    const waited = !settled;
    while (!settled && this.step()) await immediate();
    await p;
    return waited;
  }

  /** One block verified (or one micro-batch drawn); false when there is nothing to do. */
  private step(): boolean {
    if (this.stopped) return false;
    if (this.pending.length === 0) {
      // (micro-batches count too: a rank's slice of a short last one may hold no rows)
      if (this.queuedRows >= this.maxBlocks || this.queue.length >= this.maxBlocks) return false;
      const mb = this.draw();
      this.queue.push(mb);
      this.queuedRows += mb.rows.length;
      this.pending.push(...mb.rows);
      return true;
    }
    const i = this.pending.shift() as number;
    try {
      this.src.verify(i);
    } catch {
      this.stopped = true; // reported by the block's own read (see the header)
      return false;
    }
    return true;
  }

  private draw(): MicroBatchRows<C> {
    const r = this.batches.next();
    if (r.done) throw new Error('internal: the micro-batch generator ended');
    return r.value;
  }
}

function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
