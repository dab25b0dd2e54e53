/**
 * The consuming end of an edge. It grants `window` credits up front and one more each time a message
 * is acknowledged, so at most `window` messages are ever buffered or in work here (bounded memory, no
 * matter how fast the producer is). Iterating it measures the time spent waiting for input.
 *
 * Acknowledgement: by default taking the next message acknowledges the one before (a stage that
 * handles one message at a time). A stage that keeps several in work (a worker pool) sets
 * `manualAck` and calls `ack(seq)` once a message's results are sent. Messages taken but not yet
 * acknowledged go back to the head of the queue on `rewind()` — what a restarted actor resumes from,
 * so nothing is lost and nothing is processed twice.
 */
import type { MessagePort } from 'node:worker_threads';
import type { DataMessage, EdgeMessage, JsonValue } from '../../../schemas/ports';

export interface InPortStats {
  messages: number;
  bytes: number;
  waitMs: number;
  queueDepth: number;
  maxQueueDepth: number;
}

export interface Received {
  payload: ArrayBuffer;
  meta: JsonValue;
  seq: number;
}

export class InPort implements AsyncIterable<Received> {
  private readonly queue: DataMessage[] = [];
  private ended = false;
  private endMeta: JsonValue | undefined;
  private waiter: (() => void) | null = null;
  private taken: DataMessage[] = [];
  /** When the wait in progress began (performance.now()), or null when not waiting. */
  private waitingSince: number | null = null;
  /** When true, `next()` does not acknowledge anything: call `ack(seq)`. */
  manualAck = false;
  readonly stats: InPortStats = { messages: 0, bytes: 0, waitMs: 0, queueDepth: 0, maxQueueDepth: 0 };

  constructor(
    readonly name: string,
    private readonly port: MessagePort,
    readonly window: number,
  ) {
    if (!(window >= 1)) throw new Error(`edge ${name}: credit window must be ≥ 1`);
    port.on('message', (m: EdgeMessage) => this.onMessage(m));
    port.postMessage({ t: 'credit', n: window } satisfies EdgeMessage);
  }

  /** Time spent waiting for input up to `now`, the wait in progress included (`stats.waitMs` counts finished waits). */
  waitedMsAt(now = performance.now()): number {
    return this.stats.waitMs + (this.waitingSince === null ? 0 : now - this.waitingSince);
  }

  /** Meta sent with the end-of-stream message, once ended. */
  get endOfStreamMeta(): JsonValue | undefined {
    return this.endMeta;
  }

  private onMessage(m: EdgeMessage): void {
    if (m.t === 'data') {
      this.queue.push(m);
      this.stats.queueDepth = this.queue.length;
      if (this.queue.length > this.stats.maxQueueDepth) this.stats.maxQueueDepth = this.queue.length;
    } else if (m.t === 'end') {
      this.ended = true;
      this.endMeta = m.meta;
    } else {
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w();
    }
  }

  /** Acknowledge message `seq` (its results are sent) and grant one credit back. */
  ack(seq: number): void {
    const i = this.taken.findIndex((m) => m.seq === seq);
    if (i < 0) return;
    const [m] = this.taken.splice(i, 1);
    this.port.postMessage({ t: 'credit', n: 1, ackSeq: m.seq } satisfies EdgeMessage);
  }

  /** Put every taken-but-unacknowledged message back at the head of the queue, in order. */
  rewind(): number {
    const n = this.taken.length;
    this.queue.unshift(...this.taken);
    this.taken = [];
    this.stats.queueDepth = this.queue.length;
    return n;
  }

  /** Next message, or null at end of stream. Acknowledges the one returned before (unless manualAck). */
  async next(): Promise<Received | null> {
    if (!this.manualAck) for (const m of [...this.taken]) this.ack(m.seq);
    if (this.queue.length === 0 && !this.ended) {
      const t0 = performance.now();
      this.waitingSince = t0;
      while (this.queue.length === 0 && !this.ended) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
      this.waitingSince = null;
      this.stats.waitMs += performance.now() - t0;
    }
    const m = this.queue.shift();
    this.stats.queueDepth = this.queue.length;
    if (!m) return null;
    this.taken.push(m);
    this.stats.messages++;
    this.stats.bytes += m.payload.byteLength;
    return { payload: m.payload, meta: m.meta, seq: m.seq };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Received> {
    for (;;) {
      const r = await this.next();
      if (!r) return;
      yield r;
    }
  }
}
