/**
 * StepActor: runs one `pipeline:` step (a built-in or a user's actor, src/actors/api.ts) in its own
 * worker thread: input edge `in` → the step → output edge `out`, each output batch carrying the meta
 * of the input batch it came from (the split and cursor the actors downstream rely on).
 *
 * Restarts (the supervisor's `maxRestarts`): the input batch in work is re-delivered; a step with
 * `snapshot`/`restore` is restored to its snapshot after the last batch it finished, one without keeps
 * its state object as it was (it must tolerate seeing that batch again). Counters roll back to the
 * last finished batch too, so nothing is counted twice.
 */
import type { JsonValue } from '../schemas/ports';
import type { Json } from '../src/actors/api';
import { createExclusionWriter, type ExclusionWriter } from '../src/actors/exclusions';
import { loadActor } from '../src/actors/load';
import { parseStepOptions } from '../src/actors/options';
import type { StepParams } from '../src/actors/step-params';
import { StepRunner, type StepCounts } from '../src/actors/step-runner';
import { throwIfArmed } from '../src/faults';
import { defineStage } from '../src/pipeline/stage';

const COUNTS_INTERVAL_MS = 1000;

/** What survives a restart inside this worker (ctx.restartState). */
interface StepMemory {
  runner: StepRunner;
  snapshot: Json | undefined;
  counts: StepCounts;
  handled: number;
  exclusions: ExclusionWriter | null;
}

export const stage = defineStage<StepParams>(async (ctx) => {
  const p = ctx.params;
  const input = ctx.input('in');
  const out = ctx.output('out');
  let memory = ctx.restartState<StepMemory | null>('step', () => null);
  if (memory === null) {
    const def = loadActor(p.ref, p.where);
    const options = parseStepOptions(def, p.options, p.where);
    const exclusions = p.exclusion_dir ? await createExclusionWriter(p.exclusion_dir, p.exclusion_file) : null;
    const runner = new StepRunner(def, options, {
      where: p.where, actor: ctx.actor, worker: p.worker, workers: p.workers, exclusions,
      log: (level, message) => ctx.log(level, `${ctx.actor}: ${message}`),
      attempt: () => ctx.attempt,
    });
    await runner.start();
    memory = { runner, snapshot: runner.snapshot(), counts: { ...runner.counts }, handled: 0, exclusions };
    const made = memory;
    ctx.restartState('step', () => made);
  } else {
    // Restarted: back to where the last finished batch left the step.
    const mem = memory;
    mem.exclusions?.discard();
    for (const k of Object.keys(mem.runner.counts)) delete mem.runner.counts[k];
    Object.assign(mem.runner.counts, mem.counts);
    if (mem.runner.stateful) await mem.runner.start(mem.snapshot);
  }
  const mem = memory;
  const { runner } = mem;
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport < COUNTS_INTERVAL_MS) return;
    lastReport = now;
    ctx.emit('step.counts', { actor: ctx.actor, counts: { ...runner.counts } });
  };

  let lastMeta: JsonValue = null;
  for await (const m of input) {
    mem.handled++;
    throwIfArmed(ctx.actor, mem.handled);
    for (const payload of await runner.process(m.payload)) await out.send(payload, m.meta);
    lastMeta = m.meta;
    mem.exclusions?.commit();
    if (runner.stateful) mem.snapshot = runner.snapshot();
    mem.counts = { ...runner.counts };
    report(false);
  }
  for (const payload of await runner.flush()) await out.send(payload, lastMeta);
  await mem.exclusions?.close();
  out.end(input.endOfStreamMeta ?? null);
  report(true);
  return { counts: { ...runner.counts } };
});
