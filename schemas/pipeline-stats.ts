/**
 * `output_dir/pipeline_stats.json`: how the pipeline ran.
 *
 * {
 *   "version": 2,
 *   "wall_seconds": 93.2,                     // from pipeline start to the end of the run
 *   "actors": {                               // one entry per actor, its final counters
 *     "TokenizerActor": {
 *       "messagesIn": 3, "bytesIn": 650000,   // received on all inputs
 *       "messagesOut": 3, "bytesOut": 720000, // sent on all outputs
 *       "wallMs": 854,                        // worker start → stage returned (or the run's end)
 *       "busyMs": 812,                        // working (wall − waiting − blocked)
 *       "waitingForInputMs": 40,              // input queue empty
 *       "blockedOnOutputMs": 2,               // no credit from the consumer (backpressure), e.g.
 *                                             // a collator parked until the trainer has enough
 *       "queueDepth": 0, "maxQueueDepth": 2,  // messages buffered at its inputs
 *       "restarts": 0
 *     }, …
 *   },
 *   "trainer": {
 *     "data_wait_ms": 130,                    // between optimizer steps, waiting for a micro-batch
 *     "startup_wait_ms": 9800,                // before the first step, waiting for the evaluation
 *                                             // batches and the first micro-batch (reading, tokenizing, packing)
 *     "setup_ms": 1200,                       // before the first step, the rest: backend, model, optimizer
 *     "train_ms": 91000,                      // time inside optimizer steps
 *     "data_wait_fraction": 0.0014            // data_wait / (data_wait + train)
 *   },
 *   "bad_records": { "count": 0, "first": [] }, // skipped records (on_bad_record: skip), first 20:
 *                                             // {file, line?, row?, byte?, reason} each
 *   "steps": {                                // only with `pipeline:` steps: per step, its counts
 *     "gopher_quality": { "seen": 1189, "kept": 1020, "dropped_gopher_short_doc": 169 }
 *   }
 * }
 *
 * Version 2: `wallMs` and `trainer.setup_ms` added; `busyMs` stops when the actor finishes and no
 * longer includes a wait or block still in progress, and `startup_wait_ms` includes the wait for the
 * evaluation batches (version 1 missed both).
 */
import { z } from 'zod';
import type { ActorCounters } from './telemetry';

export const PIPELINE_STATS_VERSION = 2 as const;

const counters = z.object({
  messagesIn: z.number(),
  bytesIn: z.number(),
  messagesOut: z.number(),
  bytesOut: z.number(),
  wallMs: z.number(),
  busyMs: z.number(),
  waitingForInputMs: z.number(),
  blockedOnOutputMs: z.number(),
  queueDepth: z.number(),
  maxQueueDepth: z.number(),
  restarts: z.number(),
});

export const pipelineStatsSchema = z.object({
  version: z.literal(PIPELINE_STATS_VERSION),
  wall_seconds: z.number(),
  actors: z.record(z.string(), counters),
  trainer: z
    .object({ data_wait_ms: z.number(), startup_wait_ms: z.number(), setup_ms: z.number(), train_ms: z.number(), data_wait_fraction: z.number() })
    .nullable(),
  bad_records: z.object({
    count: z.number(),
    first: z.array(
      z.object({ file: z.string(), line: z.number().optional(), row: z.number().optional(), byte: z.number().optional(), reason: z.string() }),
    ),
  }),
  /** Per `pipeline:` step: documents (rows) seen, kept, dropped_<reason>, and the step's own counters. */
  steps: z.record(z.string(), z.record(z.string(), z.number())).optional(),
});

export interface PipelineStats {
  version: typeof PIPELINE_STATS_VERSION;
  wall_seconds: number;
  actors: Record<string, ActorCounters>;
  trainer: { data_wait_ms: number; startup_wait_ms: number; setup_ms: number; train_ms: number; data_wait_fraction: number } | null;
  bad_records: { count: number; first: { file: string; line?: number; row?: number; byte?: number; reason: string }[] };
  steps?: Record<string, Record<string, number>>;
}
