/**
 * The one in-process telemetry bus. Every actor publishes here (workers through their host); the
 * tap, the progress display and the stats writer subscribe. It keeps a bounded history
 * (history.ts: loss curves thinned, not cut off) so a client that connects late can be replayed what
 * it missed. A subscriber that throws is removed and
 * reported, never allowed to break the run.
 */
import { TELEMETRY_VERSION, type TelemetryEvent, type TelemetryPayloads, type TelemetryType } from '../../schemas/telemetry';
import { TelemetryHistory, type HistoryLimits } from './history';

export type Subscriber = (e: TelemetryEvent) => void;

export class TelemetryBus {
  private readonly subscribers = new Set<Subscriber>();
  readonly retained: TelemetryHistory;

  constructor(
    readonly runId: string,
    /** Events kept for replay: a number sets both limits. */
    history: number | HistoryLimits = 2000,
  ) {
    this.retained = new TelemetryHistory(typeof history === 'number' ? { maxEvents: history, maxCurvePoints: Math.max(4, history) } : history);
  }

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
    this.retained.add(e);
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

  /** Retained events, oldest first. */
  history(): TelemetryEvent[] {
    return this.retained.events();
  }
}
