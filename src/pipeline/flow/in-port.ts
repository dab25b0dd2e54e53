/**
 * The consuming end of an edge. It grants `window` credits up front and one more each time a message
 * is taken for processing, so at most `window` messages are ever buffered here (bounded memory, no
 * matter how fast the producer is). Iterating it measures the time spent waiting for input.
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
  private pendingAck: DataMessage | null = null;
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

  /** Acknowledge the previous message (done processing it) and grant one credit back. */
  private ackPrevious(): void {
    const prev = this.pendingAck;
    if (!prev) return;
    this.pendingAck = null;
    this.port.postMessage({
      t: 'credit',
      n: 1,
      ackSeq: prev.seq,
      ackBytes: prev.payload.byteLength,
      ackCursor: prev.meta,
    } satisfies EdgeMessage);
  }

  /** Next message, or null at end of stream. Acknowledges the one returned before. */
  async next(): Promise<Received | null> {
    this.ackPrevious();
    if (this.queue.length === 0 && !this.ended) {
      const t0 = performance.now();
      while (this.queue.length === 0 && !this.ended) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
      this.stats.waitMs += performance.now() - t0;
    }
    const m = this.queue.shift();
    this.stats.queueDepth = this.queue.length;
    if (!m) return null;
    this.pendingAck = m;
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
