/**
 * Bench stage standing in for the trainer behind a data actor (bench/cache-read-cost.ts): it waits
 * `setup_ms` (the trainer loading its model), then takes `steps` batches from `train`, `step_ms` apart,
 * sleeping in between so it spends no CPU itself. At the start, at each batch it takes and at the end
 * it samples the CPU time of every thread of the process but its own and the main thread's: the data
 * actor's (with V8's and libuv's helper threads), from /proc/self/task/<tid>/schedstat (Linux).
 */
import * as fs from 'node:fs';
import { decodeTrainBatch } from '../../schemas/train-batch';
import { defineStage } from '../../src/pipeline/stage';

export interface StepSinkParams {
  setup_ms: number;
  steps: number;
  step_ms: number;
}

export interface StepSinkResult {
  /** CPU ms of the other threads when the stage started, at each batch taken (1..steps) and at the end. */
  othersCpuMs: number[];
}

/** CPU ms of every thread of this process except `skip`. */
function othersCpuMs(skip: Set<string>): number {
  let ns = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    if (skip.has(tid)) continue;
    try {
      ns += Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return ns / 1e6;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const stage = defineStage<StepSinkParams>(async (ctx) => {
  const skip = new Set([String(process.pid), fs.readlinkSync('/proc/thread-self').split('/').pop() as string]);
  const samples = [othersCpuMs(skip)];
  await sleep(ctx.params.setup_ms);
  const train = ctx.input('train');
  let taken = 0;
  for await (const m of train) {
    samples.push(othersCpuMs(skip));
    decodeTrainBatch(m.payload);
    if (++taken === ctx.params.steps) break;
    await sleep(ctx.params.step_ms);
  }
  await sleep(ctx.params.step_ms);
  samples.push(othersCpuMs(skip));
  return { othersCpuMs: samples } satisfies StepSinkResult;
});
