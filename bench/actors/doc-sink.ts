/**
 * Stage of bench/step-workers.ts: the end of a pipeline with no tokenizer (documents → step → here),
 * so the step is its only busy stage. Counts the documents (RawDocs rows) and returns the
 * steady-state window's time, documents and CPU, each thread's too (bench/actors/steady.ts).
 */
import { batchFromIpc } from '../../src/actors/edges';
import { defineStage } from '../../src/pipeline/stage';
import { SteadyWindow } from './steady';
import type { SinkParams } from './token-sink';

export const stage = defineStage<SinkParams>(async (ctx) => {
  const window = new SteadyWindow(ctx.params.warmup_docs, true);
  for await (const m of ctx.input('docs')) window.arrived(batchFromIpc(m.payload).numRows);
  return window.result();
});
