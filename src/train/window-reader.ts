/**
 * Turns the trainer's input edge (one TrainBatch message per micro-batch) into gradient-accumulation
 * windows: `gradient_accumulation_steps` micro-batches, or fewer at the end of an epoch (HF's last
 * partial window). Measures how long the trainer waited for data — the number that says whether the
 * pipeline keeps up.
 */
import type { InPort } from '../pipeline/flow/in-port';
import type { MicroBatch } from '../engine/batch';
import { decodeTrainBatch, type TrainBatchMeta } from '../../schemas/train-batch';

export interface Window {
  micro: MicroBatch[];
  /** Meta of the last micro-batch in the window (its epoch, index and data cursor). */
  last: TrainBatchMeta;
  waitMs: number;
}

export class WindowReader {
  private peeked: { batch: MicroBatch; meta: TrainBatchMeta } | null = null;
  /** Waiting for data between optimizer steps (the pipeline not keeping up). */
  totalWaitMs = 0;
  /** Waiting for the first micro-batch (the data preparation before training can start). */
  startupWaitMs = 0;

  constructor(
    private readonly input: InPort,
    private readonly gradAccum: number,
  ) {}

  private async read(): Promise<{ batch: MicroBatch; meta: TrainBatchMeta; waitMs: number } | null> {
    if (this.peeked) {
      const p = this.peeked;
      this.peeked = null;
      return { ...p, waitMs: 0 };
    }
    const before = this.input.stats.waitMs;
    const m = await this.input.next();
    const waitMs = this.input.stats.waitMs - before;
    if (!m) return null;
    return { batch: decodeTrainBatch(m.payload), meta: m.meta as unknown as TrainBatchMeta, waitMs };
  }

  /** The meta of the next micro-batch without consuming it (null at end of data). */
  async peekMeta(): Promise<TrainBatchMeta | null> {
    if (!this.peeked) {
      const r = await this.read();
      if (!r) return null;
      this.startupWaitMs += r.waitMs;
      this.peeked = { batch: r.batch, meta: r.meta };
    }
    return this.peeked.meta;
  }

  async next(): Promise<Window | null> {
    const micro: MicroBatch[] = [];
    let last: TrainBatchMeta | null = null;
    let waitMs = 0;
    while (micro.length < this.gradAccum) {
      const r = await this.read();
      if (!r) break;
      waitMs += r.waitMs;
      micro.push(r.batch);
      last = r.meta;
      if (r.meta.lastInEpoch) break;
    }
    this.totalWaitMs += waitMs;
    if (!last) return null;
    return { micro, last, waitMs };
  }
}
