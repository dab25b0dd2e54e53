/**
 * Collects the per-actor counters from telemetry and writes `pipeline_stats.json` (schema:
 * schemas/pipeline-stats.ts): what each actor did, how long it waited for input or was blocked on
 * output, and how long the trainer waited for data — the measure of whether data preparation keeps
 * up with training.
 */
import path from 'node:path';
import type { ActorCounters, TelemetryEvent } from '../../schemas/telemetry';
import { PIPELINE_STATS_VERSION, type PipelineStats } from '../../schemas/pipeline-stats';
import { writeJsonAtomic } from '../engine/io/atomic';
import type { TelemetryBus } from '../telemetry/bus';

export interface TrainerTiming {
  dataWaitMs: number;
  startupWaitMs: number;
  setupMs: number;
  trainMs: number;
}

export class StatsCollector {
  private readonly counters = new Map<string, ActorCounters>();
  /** Restarts seen as events (a never-finishing actor may not report counters after its restart). */
  private readonly restarts = new Map<string, number>();
  private readonly badRecords: TelemetryEvent<'data.bad_record'>['data'][] = [];
  /** Latest counts of each `pipeline:` step (step.counts events). */
  private readonly steps = new Map<string, Record<string, number>>();
  private badRecordCount = 0;
  private readonly unsubscribe: () => void;
  private readonly started = Date.now();

  constructor(bus: TelemetryBus) {
    this.unsubscribe = bus.subscribe((e: TelemetryEvent) => {
      if (e.type === 'actor.counters') {
        const d = e.data as TelemetryEvent<'actor.counters'>['data'];
        this.counters.set(d.actor, d.counters);
      } else if (e.type === 'actor.restart') {
        const d = e.data as TelemetryEvent<'actor.restart'>['data'];
        this.restarts.set(d.actor, Math.max(this.restarts.get(d.actor) ?? 0, d.attempt));
      } else if (e.type === 'step.counts') {
        const d = e.data as TelemetryEvent<'step.counts'>['data'];
        this.steps.set(d.actor, d.counts);
      } else if (e.type === 'data.bad_record') {
        this.badRecordCount++;
        if (this.badRecords.length < 20) this.badRecords.push(e.data as TelemetryEvent<'data.bad_record'>['data']);
      }
    });
  }

  snapshot(trainer: TrainerTiming | null): PipelineStats {
    const actors: PipelineStats['actors'] = {};
    for (const [name, c] of this.counters) actors[name] = { ...c, restarts: Math.max(c.restarts, this.restarts.get(name) ?? 0) };
    return {
      version: PIPELINE_STATS_VERSION,
      wall_seconds: (Date.now() - this.started) / 1000,
      actors,
      trainer: trainer
        ? {
            data_wait_ms: Math.round(trainer.dataWaitMs),
            startup_wait_ms: Math.round(trainer.startupWaitMs),
            setup_ms: Math.round(trainer.setupMs),
            train_ms: Math.round(trainer.trainMs),
            data_wait_fraction: trainer.trainMs > 0 ? trainer.dataWaitMs / (trainer.trainMs + trainer.dataWaitMs) : 0,
          }
        : null,
      bad_records: { count: this.badRecordCount, first: this.badRecords },
      ...(this.steps.size > 0 ? { steps: Object.fromEntries(this.steps) } : {}),
    };
  }

  async write(outputDir: string, trainer: TrainerTiming | null): Promise<PipelineStats> {
    const s = this.snapshot(trainer);
    await writeJsonAtomic(path.join(outputDir, 'pipeline_stats.json'), s);
    return s;
  }

  close(): void {
    this.unsubscribe();
  }
}
