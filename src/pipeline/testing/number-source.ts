/** Test stage: emits `count` messages of `bytes` bytes; message i is filled with the value i % 251. */
import { defineStage } from '../stage';

export const stage = defineStage<{ count: number; bytes: number; failAt?: number }>(async (ctx) => {
  const out = ctx.output('out');
  for (let i = 0; i < ctx.params.count; i++) {
    if (ctx.params.failAt === i) throw new Error(`injected failure at message ${i}`);
    const buf = new Uint8Array(ctx.params.bytes).fill(i % 251);
    await out.send(buf.buffer, { i });
  }
  out.end();
  return { sent: ctx.params.count, blockedMs: out.stats.blockedMs };
});
