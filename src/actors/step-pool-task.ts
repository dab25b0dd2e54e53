/**
 * Worker-pool task (piscina) of a step with `workers: N > 1` (actors/StepActor.ts): one input batch
 * through this thread's instance of the step. Each pool thread loads the actor and runs its `init`
 * once; the batch's output, the counters it moved, the documents it dropped and its log lines go back
 * to the step's thread, which sends them on in input order (a stateless step: any instance may take
 * any batch).
 */
import Piscina from 'piscina';
import { PtflowError } from '../errors';
import type { ExcludedDoc, ExclusionWriter } from './exclusions';
import type { ActorRef } from './load';
import { loadActor } from './load';
import { parseStepOptions } from './options';
import { StepRunner, type StepCounts } from './step-runner';

export interface StepPoolTask {
  ref: ActorRef;
  /** `options:` as written in the YAML (parsed again here by the actor's schema). */
  options: unknown;
  where: string;
  actor: string;
  workers: number;
  attempt: number;
  /** One Int32 shared by the pool's threads: hands each its instance index. */
  slots: SharedArrayBuffer;
  /** null: a warm-up task (see warmUp). */
  payload: ArrayBuffer | null;
  /** Warm-up only: one Int32 counting the threads whose instance is ready. */
  ready?: SharedArrayBuffer;
}

/** How long a warm-up task waits for the pool's other threads before it lets work start anyway. */
const WARM_UP_WAIT_MS = 60_000;

export interface StepPoolResult {
  outputs: ArrayBuffer[];
  /** What this batch added to the step's counters. */
  counts: StepCounts;
  drops: ExcludedDoc[];
  logs: { level: 'info' | 'warn' | 'error'; message: string }[];
  /** What the step threw (an Error loses its class crossing threads: `usage` keeps a PtflowError's exit code 2). */
  error?: { message: string; stack?: string; exitCode?: number };
}

interface Instance {
  runner: StepRunner;
  drops: ExcludedDoc[];
  logs: StepPoolResult['logs'];
  attempt: number;
}

let instance: Promise<Instance> | null = null;

function start(t: StepPoolTask): Promise<Instance> {
  return (async () => {
    const def = loadActor(t.ref, t.where);
    const options = parseStepOptions(def, t.options, t.where);
    const worker = Atomics.add(new Int32Array(t.slots), 0, 1);
    const inst: Instance = { runner: null as never, drops: [], logs: [], attempt: t.attempt };
    // Dropped documents are collected per batch and written by the step's thread, in input order.
    const collect: ExclusionWriter = {
      file: '', add: (d) => void inst.drops.push(d), commit: () => undefined, discard: () => undefined, close: async () => undefined,
    };
    inst.runner = new StepRunner(def, options, {
      where: t.where, actor: worker === 0 ? t.actor : `${t.actor}#${worker}`, worker, workers: t.workers, exclusions: collect,
      log: (level, message) => void inst.logs.push({ level, message }),
      attempt: () => inst.attempt,
    });
    await inst.runner.start();
    return inst;
  })();
}

export default async function task(t: StepPoolTask): Promise<unknown> {
  // An init that threw is tried again with the next batch (the step's restart re-delivers it).
  instance ??= start(t).catch((e: unknown) => {
    instance = null;
    throw e;
  });
  const inst = await instance;
  inst.attempt = t.attempt;
  if (t.payload === null) return warmUp(t);
  const counts = inst.runner.counts;
  for (const k of Object.keys(counts)) delete counts[k];
  counts.seen = 0;
  counts.kept = 0;
  inst.drops = [];
  inst.logs = [];
  let outputs: ArrayBuffer[];
  try {
    outputs = await inst.runner.process(t.payload);
  } catch (e) {
    const err = e as Error;
    const failed: StepPoolResult = {
      outputs: [], counts: {}, drops: [], logs: inst.logs,
      error: { message: err?.message ?? String(e), stack: err?.stack, exitCode: e instanceof PtflowError ? e.exitCode : undefined },
    };
    return failed;
  }
  const value: StepPoolResult = { outputs, counts: { ...counts }, drops: inst.drops, logs: inst.logs };
  // The input arrived as a copy: its bytes (passed on as they are by a filter that keeps all) may move back.
  return Piscina.move({ [Piscina.transferableSymbol]: [...new Set(outputs)], [Piscina.valueSymbol]: value } as never);
}

/**
 * A warm-up task holds its thread until every pool thread holds one (or WARM_UP_WAIT_MS passed): N
 * of them at once therefore land on N distinct threads, and each thread has loaded the actor and run
 * its init before the first batch is handed out. Without this, the first thread to be ready can take
 * every batch of a short run while the others are still loading the module.
 */
function warmUp(t: StepPoolTask): true {
  const ready = new Int32Array(t.ready!);
  Atomics.add(ready, 0, 1);
  Atomics.notify(ready, 0);
  const until = Date.now() + WARM_UP_WAIT_MS;
  for (let v = Atomics.load(ready, 0); v < t.workers && Date.now() < until; v = Atomics.load(ready, 0)) Atomics.wait(ready, 0, v, 100);
  return true;
}
