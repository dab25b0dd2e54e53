/**
 * Runs a pipeline graph: one nact actor per graph actor on the main thread, each owning the worker
 * thread its stage runs in, under one supervisor actor. Data flows worker-to-worker on MessagePorts
 * (credit-based, see flow/); only control and telemetry come through here. The supervisor stops the
 * whole run with a clear error when an actor fails, and resolves with every actor's result when all
 * are done.
 */
import path from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { dispatch, spawn, start, stop, type Ref } from 'nact';
import type { JsonValue } from '../../schemas/ports';
import { TELEMETRY_VERSION, type GraphPayload, type TelemetryPost } from '../../schemas/telemetry';
import type { HostToWorker, StageWorkerData, WorkerToHost } from '../../schemas/worker-protocol';
import { PtflowError } from '../errors';
import type { TelemetryBus } from '../telemetry/bus';
import { compiledModule } from './compiled';
import { validateGraph, type ActorNode, type PipelineGraph } from './graph';

/** How long stopping actors get to send their final counters before their threads are terminated. */
const FINAL_REPORT_MS = 50;
/** Default period of the counter and memory samples (each worker's, and the main thread's memory). */
export const SAMPLE_INTERVAL_MS = 1000;

export type RequestHandler = (actor: string, payload: JsonValue) => Promise<JsonValue> | JsonValue;

export interface PipelineOptions {
  bus: TelemetryBus;
  /** Answers `ctx.request(kind, …)` from stages. */
  requestHandlers?: Record<string, RequestHandler>;
  /** Actors whose completion ends the run (others are stopped then). Default: all actors. */
  finishers?: string[];
  /** Extra worker `resourceLimits` or `execArgv`. */
  execArgv?: string[];
  /** Period of the `actor.counters` / `memory` samples (default SAMPLE_INTERVAL_MS). */
  sampleIntervalMs?: number;
}

export interface RunningPipeline {
  /** Resolves with each actor's result when the finishers are done; rejects on a failure. */
  done: Promise<Map<string, unknown>>;
  /** Send a control message to one actor (e.g. 'stop' to the trainer for a graceful stop). */
  control(actor: string, kind: string, payload?: JsonValue): void;
  /** Terminate every worker now. */
  kill(): Promise<void>;
}

type HostMsg =
  | { t: 'start' }
  | { t: 'control'; kind: string; payload?: JsonValue }
  | { t: 'kill'; resolve: () => void };

type SupervisorMsg =
  | { t: 'child-done'; actor: string; result: unknown }
  | { t: 'child-failed'; actor: string; error: PtflowError };

export function startPipeline(graph: PipelineGraph, opts: PipelineOptions): RunningPipeline {
  validateGraph(graph);
  const { bus } = opts;
  const finishers = new Set(opts.finishers ?? graph.actors.map((a) => a.name));

  // One channel per edge: port1 to the producer, port2 to the consumer.
  const portsOf = new Map<string, { inputs: MessagePort[]; outputs: MessagePort[] }>();
  for (const a of graph.actors) portsOf.set(a.name, { inputs: [], outputs: [] });
  const edgeWindow = new Map<string, number>();
  const edgeBudget = new Map<string, number>();
  const inPort = new Map<string, MessagePort>();
  const outPort = new Map<string, MessagePort>();
  for (const e of graph.edges) {
    const ch = new MessageChannel();
    outPort.set(`${e.from.actor}.${e.from.port}`, ch.port1);
    inPort.set(`${e.to.actor}.${e.to.port}`, ch.port2);
    edgeWindow.set(`${e.to.actor}.${e.to.port}`, e.window);
    edgeBudget.set(`${e.from.actor}.${e.from.port}`, e.byteBudget);
  }

  const sampleIntervalMs = opts.sampleIntervalMs ?? SAMPLE_INTERVAL_MS;
  bus.emit('pipeline.graph', graphPayload(graph), { source: 'supervisor' });
  // The main thread's memory, sampled like each worker's (the workers sample their own).
  const mainSampler = setInterval(() => bus.emit('memory', mainMemory()), sampleIntervalMs);
  mainSampler.unref();

  const system = start();
  const results = new Map<string, unknown>();
  let settled = false;
  let resolveDone!: (r: Map<string, unknown>) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<Map<string, unknown>>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const hosts = new Map<string, Ref<HostMsg>>();
  const workers = new Map<string, Worker>();

  const terminateAll = async (): Promise<void> => {
    // Actors that never finish on their own (a collator serving epochs) report their last counters first.
    for (const w of workers.values()) w.postMessage({ t: 'control', kind: 'report' } satisfies HostToWorker);
    await new Promise((r) => setTimeout(r, FINAL_REPORT_MS));
    await Promise.all([...workers.values()].map((w) => w.terminate().catch(() => 0)));
    workers.clear();
  };
  const finish = (err: Error | null): void => {
    if (settled) return;
    settled = true;
    clearInterval(mainSampler);
    bus.emit('memory', mainMemory());
    void terminateAll().then(() => {
      stop(system);
      if (err) rejectDone(err);
      else resolveDone(results);
    });
  };

  const supervisor = spawn(
    system,
    (state: { remaining: Set<string> }, msg: SupervisorMsg) => {
      if (msg.t === 'child-failed') {
        bus.emit('run.error', { actor: msg.actor, message: msg.error.message }, { source: 'supervisor' });
        finish(msg.error);
        return state;
      }
      results.set(msg.actor, msg.result);
      bus.emit('actor.stop', { actor: msg.actor }, { source: 'supervisor' });
      state.remaining.delete(msg.actor);
      if (state.remaining.size === 0) finish(null);
      return state;
    },
    'supervisor',
    { initialState: { remaining: new Set(finishers) } },
  );

  const spawnHost = (node: ActorNode): Ref<HostMsg> =>
    spawn(
      supervisor,
      (state: null, msg: HostMsg) => {
        if (msg.t === 'start') launchWorker(node);
        else if (msg.t === 'control') {
          const w = workers.get(node.name);
          w?.postMessage({ t: 'control', kind: msg.kind, payload: msg.payload } satisfies HostToWorker);
        }
        return state;
      },
      node.name,
      { initialState: null },
    );

  const launchWorker = (node: ActorNode): void => {
    const inputs = node.inputs.map((p) => ({ name: p, window: edgeWindow.get(`${node.name}.${p}`)! }));
    const outputs = node.outputs.map((p) => ({ name: p, byteBudget: edgeBudget.get(`${node.name}.${p}`)! }));
    const ports = [
      ...node.inputs.map((p) => inPort.get(`${node.name}.${p}`)!),
      ...node.outputs.map((p) => outPort.get(`${node.name}.${p}`)!),
    ];
    const modulePath = path.isAbsolute(node.module) ? node.module : compiledModule(node.module);
    const wd: StageWorkerData = { actor: node.name, module: modulePath, params: node.params, inputs, outputs, ports, attempt: 0, maxRestarts: node.maxRestarts, sampleIntervalMs };
    const worker = new Worker(compiledModule('src/pipeline/worker-entry'), {
      workerData: wd,
      transferList: ports,
      execArgv: opts.execArgv,
      // The caller's view of the environment (Node's default reads the process's own, which an
      // in-process caller such as a test runner may have shadowed): PTFLOW_FAULTS, PTFLOW_NATIVE, …
      env: process.env,
    });
    workers.set(node.name, worker);
    bus.emit('actor.start', { actor: node.name, thread: `worker:${worker.threadId}` }, { source: 'supervisor' });
    let finished = false;
    worker.on('message', (m: WorkerToHost) => {
      if (m.t === 'telemetry') forwardTelemetry(bus, m);
      else if (m.t === 'done') {
        finished = true;
        dispatch(supervisor, { t: 'child-done', actor: node.name, result: m.result });
      } else if (m.t === 'failed') {
        finished = true;
        const err = new PtflowError(
          m.usage ? m.message : `actor ${node.name} failed: ${m.message}`,
          m.exitCode ?? 1,
        );
        if (m.stack) err.stack = m.stack;
        dispatch(supervisor, { t: 'child-failed', actor: node.name, error: err });
      } else if (m.t === 'request') {
        void answerRequest(worker, node.name, m.id, m.kind, m.payload, opts.requestHandlers ?? {});
      }
    });
    worker.on('error', (e) => {
      finished = true;
      dispatch(supervisor, { t: 'child-failed', actor: node.name, error: new PtflowError(`actor ${node.name} crashed: ${e.message}`) });
    });
    worker.on('exit', (code) => {
      if (!finished && !settled) {
        dispatch(supervisor, {
          t: 'child-failed',
          actor: node.name,
          error: new PtflowError(`actor ${node.name} exited unexpectedly (code ${code})`),
        });
      }
    });
  };

  for (const node of graph.actors) hosts.set(node.name, spawnHost(node));
  for (const ref of hosts.values()) dispatch(ref, { t: 'start' });

  return {
    done,
    control(actor, kind, payload) {
      const ref = hosts.get(actor);
      if (ref && !settled) dispatch(ref, { t: 'control', kind, payload });
    },
    async kill() {
      finish(new PtflowError('pipeline killed'));
      await done.catch(() => undefined);
    },
  };
}

function forwardTelemetry(bus: TelemetryBus, m: TelemetryPost): void {
  bus.publish({ v: TELEMETRY_VERSION, type: m.type, ts: m.ts, run_id: bus.runId, step: m.step, source: m.source, data: m.data as never });
}

function mainMemory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, thread: 'main' };
}

function graphPayload(g: PipelineGraph): GraphPayload {
  return {
    actors: g.actors.map((a) => ({ name: a.name, inputs: a.inputs, outputs: a.outputs, max_restarts: a.maxRestarts })),
    edges: g.edges.map((e) => ({
      from: `${e.from.actor}.${e.from.port}`, to: `${e.to.actor}.${e.to.port}`, schema: e.schema, window: e.window,
      byte_budget: Number.isFinite(e.byteBudget) ? e.byteBudget : null,
    })),
  };
}

async function answerRequest(
  worker: Worker,
  actor: string,
  id: number,
  kind: string,
  payload: JsonValue,
  handlers: Record<string, RequestHandler>,
): Promise<void> {
  const h = handlers[kind];
  try {
    if (!h) throw new Error(`no handler for request '${kind}'`);
    const value = await h(actor, payload);
    worker.postMessage({ t: 'reply', id, value } satisfies HostToWorker);
  } catch (e) {
    worker.postMessage({ t: 'reply', id, value: null, error: (e as Error).message } satisfies HostToWorker);
  }
}
