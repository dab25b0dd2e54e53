/**
 * What a stage (the body of an actor that runs in a worker thread) sees: its parameters, named input
 * and output edges with credit-based flow control, telemetry, and control messages from the host.
 * A stage is a plain async function: read inputs, compute, send outputs, return its result (plain data,
 * structured-cloned to the main thread).
 */
import type { JsonValue } from '../../schemas/ports';
import type { TelemetryPayloads, TelemetryType } from '../../schemas/telemetry';
import type { InPort } from './flow/in-port';
import type { OutPort } from './flow/out-port';

export interface StageContext<P = unknown> {
  readonly actor: string;
  readonly params: P;
  /**
   * 0 on first start, n after the n-th restart. A restarted stage runs again from the top with its
   * unacknowledged input messages re-delivered; it must not re-send what it already sent (its
   * outputs' `stats.messages` say how many).
   */
  readonly attempt: number;
  /**
   * State that survives this actor's restarts in its worker (the supervisor re-runs the stage): made
   * by `create` on the first start, the same object after a restart. Keyed, for stages with several.
   */
  restartState<T>(key: string, create: () => T): T;
  input(name: string): InPort;
  output(name: string): OutPort;
  emit<K extends TelemetryType>(type: K, data: TelemetryPayloads[K], step?: number | null): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Ask the host (main thread) something; resolves with its reply. */
  request(kind: string, payload?: JsonValue): Promise<JsonValue>;
  /** Register a handler for control messages (e.g. 'stop' for a graceful stop). */
  onControl(handler: (kind: string, payload: JsonValue | undefined) => void): void;
  /** Extra time this stage wants counted as waiting (e.g. a trainer waiting on eval data). */
  addWaitMs(ms: number): void;
  /** Extra numbers for this thread's periodic `memory` event (e.g. tensor bytes, wasm heap size). */
  setMemoryProbe(probe: () => Record<string, number>): void;
}

export interface StageDefinition<P = unknown> {
  run(ctx: StageContext<P>): Promise<unknown>;
}

/** Helper for stage modules: `export const stage = defineStage<Params>(async (ctx) => …)`. */
export function defineStage<P>(run: (ctx: StageContext<P>) => Promise<unknown>): StageDefinition<P> {
  return { run };
}
