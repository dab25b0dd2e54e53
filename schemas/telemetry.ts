/**
 * Telemetry events: one versioned JSON shape for everything ptflow reports while it runs. The
 * in-process bus carries them; `pipeline_stats.json` and the terminal progress are built from them.
 * Clients should check `v` and ignore event types they don't know.
 *
 * Version 2: `actor.counters` is sampled on a timer (every second) while an actor runs, and once
 * more, frozen, when it finishes; its counters carry `wallMs`, and waits in progress count as
 * waiting / blocked (v1 counted them as busy). New: `pipeline.graph`, `train.start`; `log` events
 * also carry the warnings the main thread prints.
 */
export const TELEMETRY_VERSION = 2 as const;

/**
 * Where an actor's time went. busyMs + waitingForInputMs + blockedOnOutputMs = wallMs (busy is the
 * rest: computing, or awaiting something other than its edges, e.g. a tokenizer pool or a disk).
 */
export interface ActorCounters {
  /** Messages / bytes received on all inputs. */
  messagesIn: number;
  bytesIn: number;
  /** Messages / bytes sent on all outputs. */
  messagesOut: number;
  bytesOut: number;
  /** Time since the actor's thread started; frozen when its stage finishes. */
  wallMs: number;
  /** Time doing work (wall time minus waiting and blocking). */
  busyMs: number;
  /** Time waiting for input (an empty input queue), the wait in progress included. */
  waitingForInputMs: number;
  /** Time blocked on output (no credit from the consumer), the block in progress included. */
  blockedOnOutputMs: number;
  /** Messages buffered at this actor's inputs now, and the most ever. */
  queueDepth: number;
  maxQueueDepth: number;
  /** Actor restarts after a failure. */
  restarts: number;
}

/** One edge end of an actor, as sampled with its counters. */
export interface PortSample {
  port: string;
  dir: 'in' | 'out';
  messages: number;
  bytes: number;
  /** in: messages buffered here now; out: messages sent and not yet acknowledged. */
  queued: number;
  /** in: the credit window; out: null. */
  window: number | null;
}

/** The pipeline as declared: what the tap's clients draw. */
export interface GraphPayload {
  actors: { name: string; inputs: string[]; outputs: string[]; max_restarts: number }[];
  edges: { from: string; to: string; schema: string; window: number; byte_budget: number | null }[];
}

/** The trainer's first optimizer step is about to run. */
export interface TrainStartPayload {
  /** Trainer stage start → its first step. */
  first_step_ms: number;
  /** Waiting for data before the first step (evaluation batches and the first micro-batch). */
  startup_wait_ms: number;
  /** The rest of first_step_ms: backend, model and optimizer setup, checkpoint restore. */
  setup_ms: number;
  global_step: number;
  total_steps: number;
  backend: string;
  /** Weights in the model (LoRA adapters included), and how many of them are trained. */
  parameters: number;
  trainable_parameters: number;
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

/** Sampled with the counters, one per thread ('main' or the actor's name). */
export interface MemoryPayload {
  /** The whole process (shared by all threads). */
  rss: number;
  /** This thread's V8 heap, and the external / ArrayBuffer memory it holds. */
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** tfjs-reported bytes in the trainer (wasm heap size where known). */
  tensorBytes?: number;
  wasmHeapBytes?: number;
  thread: string;
}

/** The pipeline as the tap describes it: actors, and the edges with their credit windows. */
export interface TapGraph {
  actors: { name: string; inputs: string[]; outputs: string[] }[];
  edges: { from: string; to: string; schema: string; window: number }[];
}

/** What the tap retains for a client that joins late (see src/telemetry/history.ts). */
export interface TapHistoryBounds {
  /** Events kept besides the decimated curves. */
  max_events: number;
  /** Points kept per decimated curve (train.step, eval.result). */
  max_curve_points: number;
  /** Events in the replay that follows the hello (0 in a repeated hello). */
  retained: number;
  /** Every `train_step_stride`-th old train.step is kept (1 = all). */
  train_step_stride: number;
}

/** The first frame a tap client receives; sent again when what it describes changes (the graph, once built). */
export interface TapHelloPayload {
  /** The tap's wire protocol (frames, subscribe messages); independent of the event version `v`. */
  protocol: 1;
  command: 'train' | 'prepare';
  /** A summary of the run's config (the keys a person watching wants; never the token). */
  config: Record<string, unknown>;
  /** Parameters of the model (base model, embeddings included); null when not known yet or not applicable. */
  model_parameters: number | null;
  /** The configured backend (`auto` until the trainer reports the one it picked in run.start). */
  backend: string;
  history: TapHistoryBounds;
  /** null until the pipeline is built (and for `ptflow prepare`, which runs no actor graph). */
  graph: TapGraph | null;
}

export type TelemetryPayloads = {
  'run.start': { config: Record<string, unknown>; backend?: string; output_dir: string; pid?: number; resumed_from?: string | null };
  'run.stop': { status: 'completed' | 'failed' | 'interrupted'; reason?: string; elapsed_s: number };
  'run.error': { actor: string; message: string };
  'actor.start': { actor: string; thread: string };
  'actor.stop': { actor: string };
  'actor.restart': { actor: string; attempt: number; error: string };
  /** Sampled on a timer while the actor runs; `finished`: the last sample, frozen at its end. */
  'actor.counters': { actor: string; counters: ActorCounters; finished: boolean; ports: PortSample[] };
  'pipeline.graph': GraphPayload;
  /** A pipeline step's document counts: seen, kept, dropped_<reason>, and any the step counts itself. */
  'step.counts': { actor: string; counts: Record<string, number> };
  'data.ready': { train_blocks: number; eval_blocks: number; train_tokens: number; documents: number };
  /** A record skipped (on_bad_record: skip): `byte` is the record's offset, or where a compressed stream broke. */
  'data.bad_record': { file: string; line?: number; row?: number; byte?: number; reason: string };
  'train.start': TrainStartPayload;
  'train.step': StepPayload;
  'train.log': Record<string, number>;
  'train.stall': { waited_ms: number; on: string };
  'eval.result': EvalPayload;
  'checkpoint.saved': { path: string; step: number; bytes: number; elapsed_ms: number };
  memory: MemoryPayload;
  /** A message shown to the user (from an actor, or printed by the main thread: source 'main'). */
  log: { level: 'info' | 'warn' | 'error'; message: string };
  /** Tap-only events, sent to one client: its greeting, a refusal of its message, events it missed. */
  'tap.hello': TapHelloPayload;
  'tap.error': { message: string };
  /** `dropped` events were not sent to this client since the last notice (its send buffer was full). */
  'tap.dropped': { dropped: number };
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
