/** Test stage: consumes messages slowly (`take`: only that many, then returns), checks order, returns what it saw. */
import { defineStage } from '../stage';

export const stage = defineStage<{ delayMs: number; take?: number }>(async (ctx) => {
  const input = ctx.input('in');
  const seen: number[] = [];
  let sum = 0;
  for await (const m of input) {
    const bytes = new Uint8Array(m.payload);
    seen.push(bytes[0]);
    for (const b of bytes) sum += b;
    await new Promise((r) => setTimeout(r, ctx.params.delayMs));
    if (ctx.params.take !== undefined && seen.length >= ctx.params.take) break;
  }
  return { seen, sum, maxQueueDepth: input.stats.maxQueueDepth };
});
