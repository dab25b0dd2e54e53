/**
 * StepActor: runs one `pipeline:` step (a built-in or a user's actor, src/actors/api.ts) in its own
 * worker thread: input edge `in` → the step → output edge `out`, each output batch carrying the meta
 * of the input batch it came from (the split and cursor the actors downstream rely on).
 *
 * Restarts (the supervisor's `maxRestarts`): the input batch in work is re-delivered; a step with
 * `snapshot`/`restore` is restored to its snapshot after the last batch it finished, one without keeps
 * its state object as it was (it must tolerate seeing that batch again). Counters roll back to the
 * last finished batch too, so nothing is counted twice.
 *
 * `workers: N > 1` (stateless steps only, src/actors/resolve.ts): N instances on a worker pool inside
 * this thread (src/actors/step-pool-task.ts), each taking whole batches; results are sent on in input
 * order, and an input batch is acknowledged only once its results are sent, so the edge's credits
 * still bound what is in work and a restart re-delivers every batch whose results were not sent.
 */
import Piscina from 'piscina';
import type { JsonValue } from '../schemas/ports';
import type { Json } from '../src/actors/api';
import { createExclusionWriter, type ExclusionWriter } from '../src/actors/exclusions';
import { loadActor } from '../src/actors/load';
import { isStreamTrainMeta, splitOutputMetas, withCursorSnapshot, withStepSnapshot } from '../src/actors/step-snapshots';
import { parseStepOptions } from '../src/actors/options';
import type { StepParams } from '../src/actors/step-params';
import { StepRunner, type StepCounts } from '../src/actors/step-runner';
import { PtflowError } from '../src/errors';
import { throwIfArmed } from '../src/faults';
import type { StepPoolResult, StepPoolTask } from '../src/actors/step-pool-task';
import { compiledModule } from '../src/pipeline/compiled';
import { defineStage, type StageContext } from '../src/pipeline/stage';

const COUNTS_INTERVAL_MS = 1000;

/** What survives a restart inside this worker (ctx.restartState). */
interface StepMemory {
  /** The step in this thread (workers: 1), or null when a pool runs it. */
  runner: StepRunner | null;
  pool: Piscina | null;
  /** The step's counters as of the last batch whose results were sent. */
  live: StepCounts;
  snapshot: Json | undefined;
  counts: StepCounts;
  handled: number;
  exclusions: ExclusionWriter | null;
  /** A resumed streamed run, step on the docs or tokens edge: the snapshot to restore before the first training batch. */
  resume?: Json;
  /** Hands each pool thread its instance index (ActorContext.worker). */
  slots?: SharedArrayBuffer;
  /** Batches edge: the cursor before the next input micro-batch, what a split of it starts from (src/actors/step-snapshots.ts). */
  before: JsonValue;
  /** Batches edge, a run resumed in the middle of this step's split: the parts of the first input trained on already. */
  skip: number;
}

export const stage = defineStage<StepParams>(async (ctx) => {
  const p = ctx.params;
  const input = ctx.input('in');
  const out = ctx.output('out');
  let memory = ctx.restartState<StepMemory | null>('step', () => null);
  if (memory === null) {
    const exclusions = p.exclusion_dir ? await createExclusionWriter(p.exclusion_dir, p.exclusion_file) : null;
    if (p.workers > 1) {
      const pool = new Piscina({ filename: compiledModule('src/actors/step-pool-task'), minThreads: p.workers, maxThreads: p.workers });
      memory = {
        runner: null, pool, live: { seen: 0, kept: 0 }, snapshot: undefined, counts: { seen: 0, kept: 0 }, handled: 0, exclusions,
        before: p.resume_before ?? null, skip: p.resume_skip ?? 0,
      };
    } else {
      const def = loadActor(p.ref, p.where);
      const options = parseStepOptions(def, p.options, p.where);
      const runner = new StepRunner(def, options, {
        where: p.where, actor: ctx.actor, worker: p.worker, workers: p.workers, exclusions,
        log: (level, message) => ctx.log(level, `${ctx.actor}: ${message}`),
        attempt: () => ctx.attempt,
      });
      // On the batches edge a resumed run's step starts from its snapshot after the checkpoint's last
      // micro-batch: every batch it sees comes after it (src/actors/step-snapshots.ts).
      const onBatches = p.input === 'batches';
      await runner.start(runner.stateful && onBatches ? p.resume_snapshot : undefined);
      memory = {
        runner, pool: null, live: runner.counts, snapshot: runner.snapshot(), counts: { ...runner.counts }, handled: 0, exclusions,
        resume: runner.stateful && !onBatches ? p.resume_snapshot : undefined, before: p.resume_before ?? null, skip: p.resume_skip ?? 0,
      };
    }
    const made = memory;
    ctx.restartState('step', () => made);
  } else {
    // Restarted: back to where the last finished batch left the step.
    const mem = memory;
    mem.exclusions?.discard();
    for (const k of Object.keys(mem.live)) delete mem.live[k];
    Object.assign(mem.live, mem.counts);
    if (mem.runner?.stateful) await mem.runner.start(mem.snapshot);
  }
  const mem = memory;
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport < COUNTS_INTERVAL_MS) return;
    lastReport = now;
    ctx.emit('step.counts', { actor: ctx.actor, counts: { ...mem.live } });
  };
  // The supervisor asks for a last report before it stops a pipeline that is still running.
  ctx.onControl((kind) => {
    if (kind === 'report') report(true);
  });
  if (mem.pool) return runPooled(ctx, mem, mem.pool, report);
  const runner = mem.runner!;

  let lastMeta: JsonValue = null;
  for await (const m of input) {
    mem.handled++;
    throwIfArmed(ctx.actor, mem.handled);
    if (mem.resume !== undefined && isStreamTrainMeta(m.meta)) {
      // A resumed streamed run: the state before the batch the reader sought to (src/actors/step-snapshots.ts).
      await runner.start(mem.resume);
      mem.resume = undefined;
      mem.snapshot = runner.snapshot();
    }
    // Docs / tokens edge: what a streamed run's cursor needs to resume this step before this batch, its state now.
    let meta = runner.stateful && p.input !== 'batches' ? withStepSnapshot(m.meta, ctx.actor, mem.snapshot) : m.meta;
    const outputs = await runner.process(m.payload);
    const after = runner.stateful ? runner.snapshot() : undefined;
    // Batches edge: the cursor after this micro-batch resumes the step in its state after it.
    if (p.input === 'batches') meta = withCursorSnapshot(meta, ctx.actor, after);
    const metas = p.input === 'batches' ? splitOutputMetas(meta, ctx.actor, outputs.length, mem.before) : null;
    for (const [i, payload] of outputs.entries()) if (i >= mem.skip) await out.send(payload, metas ? metas[i] : meta);
    mem.skip = 0;
    if (p.input === 'batches') mem.before = cursorOf(meta) ?? mem.before;
    lastMeta = meta;
    mem.exclusions?.commit();
    if (runner.stateful) mem.snapshot = after;
    mem.counts = { ...runner.counts };
    report(false);
  }
  for (const payload of await runner.flush()) await out.send(payload, lastMeta);
  await mem.exclusions?.close();
  out.end(input.endOfStreamMeta ?? null);
  report(true);
  return { counts: { ...runner.counts } };
});

/**
 * `workers > 1`: each input batch goes to the pool as it comes (the input is copied, so a restart can
 * re-deliver it), at most as many in work as the input edge's window allows; results are taken in
 * input order, sent, and only then is the input acknowledged.
 */
async function runPooled(ctx: StageContext<StepParams>, mem: StepMemory, pool: Piscina, report: (force: boolean) => void): Promise<unknown> {
  const p = ctx.params;
  const input = ctx.input('in');
  const out = ctx.output('out');
  input.manualAck = true;
  const slots = (mem.slots ??= new SharedArrayBuffer(4));
  // Never more in work than the window: the producer needs a credit for the next batch to arrive.
  const maxInFlight = Math.max(1, Math.min(input.window, 2 * p.workers));
  const inFlight: { seq: number; meta: JsonValue; result: Promise<StepPoolResult> }[] = [];
  const deliverOne = async (): Promise<void> => {
    const f = inFlight.shift()!;
    const r = await f.result;
    if (r.error) {
      const e = r.error.exitCode !== undefined ? new PtflowError(r.error.message, r.error.exitCode) : new Error(r.error.message);
      if (r.error.stack) e.stack = r.error.stack;
      throw e;
    }
    mem.handled++;
    throwIfArmed(ctx.actor, mem.handled);
    for (const l of r.logs) ctx.log(l.level, `${ctx.actor}: ${l.message}`);
    for (const d of r.drops) mem.exclusions?.add(d);
    const metas = p.input === 'batches' ? splitOutputMetas(f.meta, ctx.actor, r.outputs.length, mem.before) : null;
    for (const [i, payload] of r.outputs.entries()) if (i >= mem.skip) await out.send(payload, metas ? metas[i] : f.meta);
    mem.skip = 0;
    if (p.input === 'batches') mem.before = cursorOf(f.meta) ?? mem.before;
    mem.exclusions?.commit();
    for (const [k, n] of Object.entries(r.counts)) mem.live[k] = (mem.live[k] ?? 0) + n;
    mem.counts = { ...mem.live };
    input.ack(f.seq);
    report(false);
  };
  // Every instance loaded and initialised before work is handed out (see warmUp in step-pool-task.ts).
  const ready = new SharedArrayBuffer(4);
  await Promise.all(Array.from({ length: p.workers }, () => pool.run({
    ref: p.ref, options: p.options, where: p.where, actor: ctx.actor, workers: p.workers, attempt: ctx.attempt, slots, payload: null, ready,
  } satisfies StepPoolTask)));
  for await (const m of input) {
    const task: StepPoolTask = {
      ref: p.ref, options: p.options, where: p.where, actor: ctx.actor, workers: p.workers, attempt: ctx.attempt, slots, payload: m.payload,
    };
    const result = pool.run(task) as Promise<StepPoolResult>;
    result.catch(() => undefined); // awaited in order by deliverOne; a failure after an earlier one is not "unhandled"
    inFlight.push({ seq: m.seq, meta: m.meta, result });
    while (inFlight.length >= maxInFlight) await deliverOne();
  }
  while (inFlight.length > 0) await deliverOne();
  await mem.exclusions?.close();
  await pool.destroy();
  out.end(input.endOfStreamMeta ?? null);
  report(true);
  return { counts: { ...mem.live } };
}

/** The data cursor a batches-edge meta carries (after its micro-batch), or null. */
function cursorOf(meta: JsonValue): JsonValue {
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? (meta.cursor ?? null) : null;
}
