/**
 * Stage of bench/actors.ts and bench/step-workers.ts: the end of the measured pipeline. Consumes
 * TokenizedDocs, counts documents and tokens, and returns them with the steady-state window's time,
 * documents and CPU (bench/actors/steady.ts).
 */
import { decodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { defineStage } from '../../src/pipeline/stage';
import { SteadyWindow } from './steady';

export interface SinkParams {
  /** Documents to let through before the steady-state window opens (0: from the first message). */
  warmup_docs: number;
}

export const stage = defineStage<SinkParams>(async (ctx) => {
  const window = new SteadyWindow(ctx.params.warmup_docs);
  let tokens = 0;
  for await (const m of ctx.input('tokens')) {
    const d = decodeTokenizedDocs(m.payload);
    window.arrived(d.inputIds.length);
    tokens += d.values.length;
  }
  return { ...window.result(), tokens };
});
