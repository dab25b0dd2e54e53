/**
 * The producing end of an edge. `send` resolves once the message is on its way; it waits while the
 * edge has no credit or its in-flight bytes would exceed the byte budget (the time spent waiting is
 * the stage's "blocked on output" time). Nothing is queued here beyond that one waiting send, so a
 * producer can never run ahead of its consumer by more than the granted window.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CreditMessage, DataMessage, EdgeMessage, JsonValue } from '../../../schemas/ports';

export interface OutPortStats {
  messages: number;
  bytes: number;
  blockedMs: number;
  inFlightMessages: number;
  inFlightBytes: number;
}

export class OutPort {
  private credits = 0;
  private inFlightBytes = 0;
  private readonly unacked = new Map<number, number>();
  private seq = 0;
  private waiter: (() => void) | null = null;
  private ended = false;
  /** When the block in progress began (performance.now()), or null when not blocked. */
  private blockedSince: number | null = null;
  readonly stats: OutPortStats = { messages: 0, bytes: 0, blockedMs: 0, inFlightMessages: 0, inFlightBytes: 0 };

  constructor(
    readonly name: string,
    private readonly port: MessagePort,
    /** Upper bound of unacknowledged bytes on this edge (one message may exceed it when alone). */
    private readonly byteBudget: number = Number.POSITIVE_INFINITY,
  ) {
    port.on('message', (m: EdgeMessage) => {
      if (m.t === 'credit') this.onCredit(m);
    });
  }

  /**
   * Time blocked on this edge up to `now`, the block in progress included (`stats.blockedMs` counts
   * finished ones): a producer parked for credit until the run ends is blocked, not busy.
   */
  blockedMsAt(now = performance.now()): number {
    return this.stats.blockedMs + (this.blockedSince === null ? 0 : now - this.blockedSince);
  }

  private onCredit(m: CreditMessage): void {
    this.credits += m.n;
    if (m.ackSeq !== undefined) {
      const bytes = this.unacked.get(m.ackSeq) ?? 0;
      this.unacked.delete(m.ackSeq);
      this.inFlightBytes -= bytes;
    }
    this.stats.inFlightMessages = this.unacked.size;
    this.stats.inFlightBytes = this.inFlightBytes;
    const w = this.waiter;
    if (w && this.canSend(0)) {
      this.waiter = null;
      w();
    }
  }

  private canSend(bytes: number): boolean {
    if (this.credits <= 0) return false;
    return this.unacked.size === 0 || this.inFlightBytes + bytes <= this.byteBudget;
  }

  /** Send one batch; `payload` is transferred (unusable by the caller afterwards). */
  async send(payload: ArrayBuffer, meta: JsonValue = null): Promise<void> {
    if (this.ended) throw new Error(`edge ${this.name}: send after end`);
    const bytes = payload.byteLength;
    if (!this.canSend(bytes)) {
      const t0 = performance.now();
      this.blockedSince = t0;
      while (!this.canSend(bytes)) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
      this.blockedSince = null;
      this.stats.blockedMs += performance.now() - t0;
    }
    this.credits--;
    const seq = this.seq++;
    this.unacked.set(seq, bytes);
    this.inFlightBytes += bytes;
    const msg: DataMessage = { t: 'data', seq, payload, meta };
    this.port.postMessage(msg, [payload]);
    this.stats.messages++;
    this.stats.bytes += bytes;
    this.stats.inFlightMessages = this.unacked.size;
    this.stats.inFlightBytes = this.inFlightBytes;
  }

  /** Signal end of stream. */
  end(meta?: JsonValue): void {
    if (this.ended) return;
    this.ended = true;
    this.port.postMessage({ t: 'end', meta } satisfies EdgeMessage);
  }
}
