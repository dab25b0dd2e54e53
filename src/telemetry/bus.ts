/**
 * The one in-process telemetry bus. Every actor publishes here (workers through their host); the
 * tap, the progress display and the stats writer subscribe. It keeps a bounded history so a
 * client that connects late can be replayed what it missed. A subscriber that throws is removed and
 * reported, never allowed to break the run.
 */
import { TELEMETRY_VERSION, type TelemetryEvent, type TelemetryPayloads, type TelemetryType } from '../../schemas/telemetry';

export type Subscriber = (e: TelemetryEvent) => void;

export class TelemetryBus {
  private readonly subscribers = new Set<Subscriber>();
  private readonly ring: TelemetryEvent[] = [];
  private ringStart = 0;

  constructor(
    readonly runId: string,
    /** Events kept for replay. */
    private readonly historyLimit = 2000,
  ) {}

  emit<K extends TelemetryType>(type: K, data: TelemetryPayloads[K], opts: { step?: number | null; source?: string; ts?: number } = {}): void {
    this.publish({
      v: TELEMETRY_VERSION,
      type,
      ts: opts.ts ?? Date.now(),
      run_id: this.runId,
      step: opts.step ?? null,
      source: opts.source ?? 'main',
      data,
    });
  }

  publish(e: TelemetryEvent): void {
    if (this.ring.length < this.historyLimit) this.ring.push(e);
    else {
      this.ring[this.ringStart] = e;
      this.ringStart = (this.ringStart + 1) % this.historyLimit;
    }
    for (const s of this.subscribers) {
      try {
        s(e);
      } catch (err) {
        this.subscribers.delete(s);
        process.emitWarning(`telemetry subscriber removed after it threw: ${(err as Error).message}`);
      }
    }
  }

  subscribe(s: Subscriber, opts: { replay?: boolean } = {}): () => void {
    if (opts.replay) for (const e of this.history()) s(e);
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** Recent events, oldest first. */
  history(): TelemetryEvent[] {
    return [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
  }
}
