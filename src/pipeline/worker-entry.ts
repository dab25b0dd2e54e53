/**
 * Entry point of every stage worker thread: wires the edges handed over by the host, runs the stage
 * module, samples its counters and memory on a timer (and once more at the end), and turns a thrown
 * error into a `failed` message (the host's supervisor decides what happens next).
 *
 * Counters: wall time runs from this entry's start (before the stage module loads) until the stage
 * returns or throws, then stops — an actor that has finished is parked, not busy. Waiting and
 * blocking include the wait in progress. Busy is the rest. A stage that computes without yielding
 * (a tfjs step) is sampled when it yields.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { JsonValue } from '../../schemas/ports';
import type { ActorCounters, PortSample, TelemetryPost } from '../../schemas/telemetry';
import type { HostToWorker, StageWorkerData, WorkerToHost } from '../../schemas/worker-protocol';
import { PtflowError } from '../errors';
import { InPort } from './flow/in-port';
import { OutPort } from './flow/out-port';
import type { StageContext, StageDefinition } from './stage';

function post(m: WorkerToHost): void {
  parentPort!.postMessage(m);
}

async function main(): Promise<void> {
  const wd = workerData as StageWorkerData;
  const ports = wd.ports as MessagePort[];
  const inputs = new Map<string, InPort>();
  const outputs = new Map<string, OutPort>();
  wd.inputs.forEach((spec, i) => inputs.set(spec.name, new InPort(`${wd.actor}.${spec.name}`, ports[i], spec.window)));
  wd.outputs.forEach((spec, i) =>
    outputs.set(spec.name, new OutPort(`${wd.actor}.${spec.name}`, ports[wd.inputs.length + i], spec.byteBudget)),
  );

  const started = performance.now();
  /** When the stage returned or threw (the counters' clock stops there). */
  let finishedAt: number | null = null;
  let extraWaitMs = 0;
  let memoryExtra: (() => Record<string, number>) | null = null;
  const controlHandlers: ((kind: string, payload: JsonValue | undefined) => void)[] = [];
  const pending = new Map<number, { resolve: (v: JsonValue) => void; reject: (e: Error) => void }>();
  let nextRequest = 0;

  parentPort!.on('message', (m: HostToWorker) => {
    if (m.t === 'reply') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (p) m.error ? p.reject(new Error(m.error)) : p.resolve(m.value);
    } else if (m.t === 'control') {
      if (m.kind === 'report') reportCounters(); // the supervisor is about to stop this thread
      for (const h of controlHandlers) h(m.kind, m.payload);
    }
  });

  const counters = (): ActorCounters => {
    const now = finishedAt ?? performance.now();
    const c: ActorCounters = {
      messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, wallMs: now - started, busyMs: 0,
      waitingForInputMs: extraWaitMs, blockedOnOutputMs: 0, queueDepth: 0, maxQueueDepth: 0, restarts: attemptNow,
    };
    for (const p of inputs.values()) {
      c.messagesIn += p.stats.messages;
      c.bytesIn += p.stats.bytes;
      c.waitingForInputMs += p.waitedMsAt(now);
      c.queueDepth += p.stats.queueDepth;
      c.maxQueueDepth = Math.max(c.maxQueueDepth, p.stats.maxQueueDepth);
    }
    for (const p of outputs.values()) {
      c.messagesOut += p.stats.messages;
      c.bytesOut += p.stats.bytes;
      c.blockedOnOutputMs += p.blockedMsAt(now);
    }
    c.busyMs = Math.max(0, c.wallMs - c.waitingForInputMs - c.blockedOnOutputMs);
    return roundCounters(c);
  };
  const portSamples = (): PortSample[] => [
    ...[...inputs.entries()].map(([port, p]): PortSample => ({
      port, dir: 'in', messages: p.stats.messages, bytes: p.stats.bytes, queued: p.stats.queueDepth, window: p.window,
    })),
    ...[...outputs.entries()].map(([port, p]): PortSample => ({
      port, dir: 'out', messages: p.stats.messages, bytes: p.stats.bytes, queued: p.stats.inFlightMessages, window: null,
    })),
  ];
  const emitRaw = (type: TelemetryPost['type'], data: unknown, step: number | null): void =>
    post({ t: 'telemetry', type, data, step, source: wd.actor, ts: Date.now() });
  const reportCounters = (): void => {
    emitRaw('actor.counters', { actor: wd.actor, counters: counters(), finished: finishedAt !== null, ports: portSamples() }, null);
    const m = process.memoryUsage();
    emitRaw('memory', { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, thread: wd.actor, ...(memoryExtra?.() ?? {}) }, null);
  };
  const timer = setInterval(reportCounters, wd.sampleIntervalMs);
  timer.unref();

  let attemptNow = wd.attempt;
  const kept = new Map<string, unknown>();
  const ctx: StageContext = {
    restartState<T>(key: string, create: () => T): T {
      if (attemptNow === 0 || !kept.has(key)) kept.set(key, create());
      return kept.get(key) as T;
    },
    actor: wd.actor,
    params: wd.params,
    get attempt() {
      return attemptNow;
    },
    input(name) {
      const p = inputs.get(name);
      if (!p) throw new Error(`actor ${wd.actor} has no input '${name}'`);
      return p;
    },
    output(name) {
      const p = outputs.get(name);
      if (!p) throw new Error(`actor ${wd.actor} has no output '${name}'`);
      return p;
    },
    emit(type, data, step = null) {
      emitRaw(type, data, step);
    },
    log(level, message) {
      emitRaw('log', { level, message }, null);
    },
    request(kind, payload = null) {
      const id = nextRequest++;
      return new Promise<JsonValue>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post({ t: 'request', id, kind, payload });
      });
    },
    onControl(h) {
      controlHandlers.push(h);
    },
    addWaitMs(ms) {
      extraWaitMs += ms;
    },
    setMemoryProbe(probe) {
      memoryExtra = probe;
    },
  };

  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(wd.module) as { stage?: StageDefinition };
    if (!mod.stage) throw new Error(`stage module ${wd.module} exports no 'stage'`);
    const result = await runSupervised(mod.stage, ctx, wd, inputs, (attempt) => (attemptNow = attempt), emitRaw);
    finishedAt = performance.now();
    clearInterval(timer);
    reportCounters();
    post({ t: 'done', result });
  } catch (err) {
    finishedAt = performance.now();
    clearInterval(timer);
    reportCounters();
    const e = err as Error;
    post({
      t: 'failed',
      message: e?.message ?? String(err),
      stack: e?.stack,
      exitCode: err instanceof PtflowError ? err.exitCode : undefined,
      usage: err instanceof PtflowError && err.exitCode === 2,
    });
  }
}

/**
 * Runs the stage; when it throws and restarts remain, rewinds its inputs to the last acknowledged
 * message and runs it again (the stage resumes from there: see `StageContext.attempt`). A usage
 * error (bad input the user must fix) is never retried. Past the limit the last error stands.
 */
async function runSupervised(
  stage: StageDefinition,
  ctx: StageContext,
  wd: StageWorkerData,
  inputs: Map<string, InPort>,
  setAttempt: (n: number) => void,
  emitRaw: (type: TelemetryPost['type'], data: unknown, step: number | null) => void,
): Promise<unknown> {
  for (let attempt = wd.attempt; ; attempt++) {
    setAttempt(attempt);
    try {
      return await stage.run(ctx);
    } catch (err) {
      const usage = err instanceof PtflowError && err.exitCode === 2;
      if (usage || attempt >= wd.maxRestarts) throw err;
      for (const p of inputs.values()) p.rewind();
      emitRaw('actor.restart', { actor: wd.actor, attempt: attempt + 1, error: (err as Error)?.message ?? String(err) }, null);
    }
  }
}

/** Whole milliseconds; busy recomputed from the rounded parts so the three still add up to wall. */
function roundCounters(c: ActorCounters): ActorCounters {
  const wallMs = Math.round(c.wallMs);
  const waitingForInputMs = Math.round(c.waitingForInputMs);
  const blockedOnOutputMs = Math.round(c.blockedOnOutputMs);
  return { ...c, wallMs, waitingForInputMs, blockedOnOutputMs, busyMs: Math.max(0, wallMs - waitingForInputMs - blockedOnOutputMs) };
}

void main();
