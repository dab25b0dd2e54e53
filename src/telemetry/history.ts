/**
 * The bus's bounded history, replayed to a tap client that joins late.
 *
 * Series events (each `train.step`, `train.log`, `eval.result`, and per actor / per thread
 * `actor.counters` and `memory`) go to a curve that is never cut off, only thinned: the newest
 * `points/2` events are kept whole, older ones are kept at a stride that doubles whenever the old half
 * fills (every 2nd, then every 4th, … event). A client joining at step 100 000 still sees the whole
 * loss curve, at reduced resolution where it is old. Every other event goes to a ring of the last
 * `maxEvents`. Memory is bounded by `maxEvents + curves × points`, with at most MAX_CURVES curves.
 */
import type { TelemetryEvent } from '../../schemas/telemetry';

export interface HistoryLimits {
  /** Events of other types kept (the newest). */
  maxEvents: number;
  /** Events kept per curve (at least 4). */
  maxCurvePoints: number;
}

interface Entry {
  seq: number;
  e: TelemetryEvent;
}

/** More curves than this (many restarted actors, many threads) and the rest share the ring. */
const MAX_CURVES = 64;

/** Keeps every event while young; when old, every `stride`-th, with a stride that doubles to stay in bounds. */
export class DecimatedCurve {
  private readonly recent: Entry[] = [];
  private recentStart = 0;
  private readonly archive: Entry[] = [];
  /** Events that have left `recent`, counted so the archive keeps evenly spaced ones. */
  private aged = 0;
  stride = 1;

  constructor(private readonly points: number) {
    if (!(points >= 4)) throw new Error(`a decimated curve needs at least 4 points, got ${points}`);
  }

  private get recentCap(): number {
    return Math.ceil(this.points / 2);
  }

  private get archiveCap(): number {
    return this.points - this.recentCap;
  }

  add(x: Entry): void {
    if (this.recent.length < this.recentCap) {
      this.recent.push(x);
      return;
    }
    const old = this.recent[this.recentStart];
    this.recent[this.recentStart] = x;
    this.recentStart = (this.recentStart + 1) % this.recentCap;
    if (this.aged++ % this.stride !== 0) return;
    if (this.archive.length === this.archiveCap) {
      // Keep positions 0, 2, 4, …: those aged at multiples of the doubled stride.
      let w = 0;
      for (let r = 0; r < this.archive.length; r += 2) this.archive[w++] = this.archive[r];
      this.archive.length = w;
      this.stride *= 2;
      // This one was aged at a multiple of the old stride; it stays only if also of the new one.
      if ((this.aged - 1) % this.stride !== 0) return;
    }
    this.archive.push(old);
  }

  entries(): Entry[] {
    return [...this.archive, ...this.recent.slice(this.recentStart), ...this.recent.slice(0, this.recentStart)];
  }

  get size(): number {
    return this.archive.length + this.recent.length;
  }
}

/** The curve an event belongs to, or null for the ring. */
function curveKey(e: TelemetryEvent): string | null {
  switch (e.type) {
    case 'train.step':
    case 'train.log':
    case 'eval.result':
      return e.type;
    case 'actor.counters':
      return `actor.counters|${(e.data as { actor: string }).actor}`;
    case 'memory':
      return `memory|${(e.data as { thread: string }).thread}`;
    default:
      return null;
  }
}

export class TelemetryHistory {
  private readonly ring: Entry[] = [];
  private ringStart = 0;
  private readonly curves = new Map<string, DecimatedCurve>();
  private seq = 0;

  constructor(readonly limits: HistoryLimits) {
    if (!(limits.maxEvents >= 1)) throw new Error(`history needs room for at least one event, got ${limits.maxEvents}`);
  }

  add(e: TelemetryEvent): void {
    const x = { seq: this.seq++, e };
    const key = curveKey(e);
    if (key !== null) {
      let c = this.curves.get(key);
      if (!c && this.curves.size < MAX_CURVES) this.curves.set(key, (c = new DecimatedCurve(this.limits.maxCurvePoints)));
      if (c) {
        c.add(x);
        return;
      }
    }
    if (this.ring.length < this.limits.maxEvents) this.ring.push(x);
    else {
      this.ring[this.ringStart] = x;
      this.ringStart = (this.ringStart + 1) % this.limits.maxEvents;
    }
  }

  /** Retained events in the order they were published. */
  events(): TelemetryEvent[] {
    const all: Entry[] = [...this.ring];
    for (const c of this.curves.values()) for (const x of c.entries()) all.push(x);
    all.sort((a, b) => a.seq - b.seq);
    return all.map((x) => x.e);
  }

  /** The stride old train.step events are kept at (1 = all of them). */
  get trainStepStride(): number {
    return this.curves.get('train.step')?.stride ?? 1;
  }
}
