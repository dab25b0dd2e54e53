/**
 * `ptflow tap`'s readable lines: one per logged step, eval, checkpoint, warning and run event, and
 * now and then a pipeline line naming each actor's busy / waiting-for-input / blocked-on-output
 * share since the previous sample, so the bottleneck (the busiest actor) stands out.
 */
import type { ActorCounters, TelemetryEvent } from '../../schemas/telemetry';

const pct = (x: number): string => `${Math.round(100 * x)}%`;

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4);
}

export interface ActorShare {
  actor: string;
  busy: number;
  waiting: number;
  blocked: number;
  queue: number;
}

/** Shares of wall time between successive `actor.counters` samples of each actor. */
export class ActorShares {
  private readonly last = new Map<string, { ts: number; c: ActorCounters }>();
  private readonly shares = new Map<string, ActorShare>();

  add(e: TelemetryEvent<'actor.counters'>): void {
    const { actor, counters: c } = e.data;
    const prev = this.last.get(actor);
    this.last.set(actor, { ts: e.ts, c });
    if (!prev || e.ts <= prev.ts) return;
    const dt = e.ts - prev.ts;
    const share = (a: number, b: number): number => Math.min(1, Math.max(0, (a - b) / dt));
    this.shares.set(actor, {
      actor,
      busy: share(c.busyMs, prev.c.busyMs),
      waiting: share(c.waitingForInputMs, prev.c.waitingForInputMs),
      blocked: share(c.blockedOnOutputMs, prev.c.blockedOnOutputMs),
      queue: c.queueDepth,
    });
  }

  current(): ActorShare[] {
    return [...this.shares.values()];
  }
}

export function pipelineLine(shares: readonly ActorShare[]): string | null {
  if (shares.length === 0) return null;
  const top = shares.reduce((a, b) => (b.busy > a.busy ? b : a));
  const parts = shares.map(
    (s) => `${s.actor} busy ${pct(s.busy)} wait ${pct(s.waiting)} blocked ${pct(s.blocked)} q ${s.queue}${s === top && s.busy > 0 ? ' ◀ bottleneck' : ''}`,
  );
  return `pipeline: ${parts.join(' · ')}`;
}

/** The readable line for one event, or null for events shown otherwise (counters) or not at all. */
export function formatEvent(e: TelemetryEvent): string | null {
  const at = e.step === null ? '' : `[step ${e.step}] `;
  switch (e.type) {
    case 'tap.hello': {
      const d = e.data as TelemetryEvent<'tap.hello'>['data'];
      const model = d.model_parameters === null ? '' : `, ${(d.model_parameters / 1e6).toFixed(2)}M parameters`;
      return `connected: ${d.command} run ${e.run_id}${model}, backend ${d.backend}, replaying ${d.history.retained} events`;
    }
    case 'tap.error':
      return `tap refused a message: ${(e.data as TelemetryEvent<'tap.error'>['data']).message}`;
    case 'tap.dropped':
      return `(missed ${(e.data as TelemetryEvent<'tap.dropped'>['data']).dropped} events: this client read too slowly)`;
    case 'run.start':
      return `run ${e.run_id} started`;
    case 'run.stop': {
      const d = e.data as TelemetryEvent<'run.stop'>['data'];
      return `run ${d.status} after ${d.elapsed_s.toFixed(1)} s${d.reason ? `: ${d.reason}` : ''}`;
    }
    case 'run.error': {
      const d = e.data as TelemetryEvent<'run.error'>['data'];
      return `error in ${d.actor}: ${d.message}`;
    }
    case 'train.step': {
      const d = e.data as TelemetryEvent<'train.step'>['data'];
      const wait = d.step_time_ms + d.data_wait_ms > 0 ? d.data_wait_ms / (d.step_time_ms + d.data_wait_ms) : 0;
      return (
        `step ${e.step}/${d.total_steps} · loss ${num(d.loss)} · lr ${d.learning_rate.toExponential(2)} · ` +
        `${Math.round(d.tokens_per_second)} tok/s · ${Math.round(d.step_time_ms)} ms/step · data wait ${pct(wait)}`
      );
    }
    case 'eval.result': {
      const d = e.data as TelemetryEvent<'eval.result'>['data'];
      return `${at}eval_loss ${num(d.eval_loss)} · perplexity ${num(d.eval_perplexity)} (${d.eval_samples} blocks, ${d.eval_runtime.toFixed(1)} s)`;
    }
    case 'checkpoint.saved': {
      const d = e.data as TelemetryEvent<'checkpoint.saved'>['data'];
      return `${at}checkpoint ${d.path} (${(d.bytes / 1e6).toFixed(1)} MB in ${Math.round(d.elapsed_ms)} ms)`;
    }
    case 'train.stall': {
      const d = e.data as TelemetryEvent<'train.stall'>['data'];
      return `${at}trainer waited ${Math.round(d.waited_ms)} ms for ${d.on}`;
    }
    case 'data.ready': {
      const d = e.data as TelemetryEvent<'data.ready'>['data'];
      return `data: ${d.documents} documents → ${d.train_blocks} training blocks (${d.train_tokens} tokens), ${d.eval_blocks} eval blocks`;
    }
    case 'actor.restart': {
      const d = e.data as TelemetryEvent<'actor.restart'>['data'];
      return `${d.actor} restarted (attempt ${d.attempt}): ${d.error}`;
    }
    case 'log': {
      const d = e.data as TelemetryEvent<'log'>['data'];
      return `${d.level === 'info' ? '' : d.level + ': '}${d.message}`;
    }
    default:
      return null;
  }
}
