/**
 * Messages between a stage's worker thread and its host actor on the main thread (control plane).
 * Data never takes this path: it flows worker-to-worker on edges (see ports.ts).
 */
import type { JsonValue } from './ports';
import type { TelemetryPost } from './telemetry';

/** Worker → main. */
export type WorkerToHost =
  | TelemetryPost
  | { t: 'done'; result: unknown }
  | { t: 'failed'; message: string; stack?: string; exitCode?: number; usage?: boolean }
  | { t: 'request'; id: number; kind: string; payload: JsonValue };

/** Main → worker. */
export type HostToWorker =
  | { t: 'control'; kind: string; payload?: JsonValue }
  | { t: 'reply'; id: number; value: JsonValue; error?: string };

/** What the host gives a worker at start (ports travel in the transfer list). */
export interface StageWorkerData {
  actor: string;
  /** Absolute path of the compiled stage module (exports `stage`). */
  module: string;
  /** The actor's parameters (structured-cloned; typed where the graph node is declared). */
  params: unknown;
  inputs: { name: string; window: number }[];
  outputs: { name: string; byteBudget: number }[];
  /** One MessagePort per input then per output, in the order above. */
  ports: unknown[];
  /** Attempt number (0 = first start; > 0 after a restart). */
  attempt: number;
  /** Restarts allowed after the stage throws (0 = a failure stops the run). */
  maxRestarts: number;
  /** How often the worker samples its counters and memory (milliseconds). */
  sampleIntervalMs: number;
}
