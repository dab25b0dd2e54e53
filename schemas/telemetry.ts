/**
 * Telemetry events: one versioned JSON shape for everything ptflow reports while it runs. The
 * in-process bus carries them; the WebSocket tap and `pipeline_stats.json` are built from them.
 * Clients should check `v` and ignore event types they don't know.
 */
export const TELEMETRY_VERSION = 1 as const;

export interface ActorCounters {
  /** Messages / bytes received on all inputs. */
  messagesIn: number;
  bytesIn: number;
  /** Messages / bytes sent on all outputs. */
  messagesOut: number;
  bytesOut: number;
  /** Time doing work (wall time minus waiting and blocking). */
  busyMs: number;
  /** Time waiting for input (an empty input queue). */
  waitingForInputMs: number;
  /** Time blocked on output (no credit from the consumer). */
  blockedOnOutputMs: number;
  /** Messages buffered at this actor's inputs now, and the most ever. */
  queueDepth: number;
  maxQueueDepth: number;
  /** Actor restarts after a failure. */
  restarts: number;
}

export interface StepPayload {
  loss: number;
  learning_rate: number;
  grad_norm: number;
  epoch: number;
  tokens: number;
  tokens_per_second: number;
  step_time_ms: number;
  data_wait_ms: number;
  total_steps: number;
}

export interface EvalPayload {
  eval_loss: number;
  eval_perplexity: number;
  eval_runtime: number;
  eval_samples: number;
  epoch: number;
}

export interface MemoryPayload {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** tfjs-reported bytes in the trainer (wasm heap size where known). */
  tensorBytes?: number;
  wasmHeapBytes?: number;
  thread: string;
}

export type TelemetryPayloads = {
  'run.start': { config: Record<string, unknown>; backend?: string; output_dir: string };
  'run.stop': { status: 'completed' | 'failed' | 'interrupted'; reason?: string; elapsed_s: number };
  'run.error': { actor: string; message: string };
  'actor.start': { actor: string; thread: string };
  'actor.stop': { actor: string };
  'actor.restart': { actor: string; attempt: number; error: string };
  'actor.counters': { actor: string; counters: ActorCounters };
  /** A pipeline step's document counts: seen, kept, dropped_<reason>, and any the step counts itself. */
  'step.counts': { actor: string; counts: Record<string, number> };
  'data.ready': { train_blocks: number; eval_blocks: number; train_tokens: number; documents: number };
  /** A record skipped (on_bad_record: skip): `byte` is the record's offset, or where a compressed stream broke. */
  'data.bad_record': { file: string; line?: number; row?: number; byte?: number; reason: string };
  'train.step': StepPayload;
  'train.log': Record<string, number>;
  'train.stall': { waited_ms: number; on: string };
  'eval.result': EvalPayload;
  'checkpoint.saved': { path: string; step: number; bytes: number; elapsed_ms: number };
  memory: MemoryPayload;
  log: { level: 'info' | 'warn' | 'error'; message: string };
};

export type TelemetryType = keyof TelemetryPayloads;

export interface TelemetryEvent<K extends TelemetryType = TelemetryType> {
  v: typeof TELEMETRY_VERSION;
  type: K;
  /** Milliseconds since the Unix epoch. */
  ts: number;
  run_id: string;
  /** Global optimizer step the event belongs to (null when none applies). */
  step: number | null;
  /** Actor (or component) that emitted it. */
  source: string;
  data: TelemetryPayloads[K];
}

/** What a worker posts to the main thread to publish an event (run_id is filled in on main). */
export interface TelemetryPost {
  t: 'telemetry';
  type: TelemetryType;
  step: number | null;
  source: string;
  data: unknown;
  ts: number;
}
