/** Test stage: consumes messages slowly, checks order, returns what it saw. */
import { defineStage } from '../stage';

export const stage = defineStage<{ delayMs: number }>(async (ctx) => {
  const input = ctx.input('in');
  const seen: number[] = [];
  let sum = 0;
  for await (const m of input) {
    const bytes = new Uint8Array(m.payload);
    seen.push(bytes[0]);
    for (const b of bytes) sum += b;
    await new Promise((r) => setTimeout(r, ctx.params.delayMs));
  }
  return { seen, sum, maxQueueDepth: input.stats.maxQueueDepth };
});
