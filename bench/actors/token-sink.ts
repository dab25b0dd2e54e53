/**
 * Stage of bench/actors.ts: the end of the measured pipeline. Consumes TokenizedDocs, counts
 * documents and tokens, and returns them with the steady-state time: from the first message's arrival
 * to the end (thread start-up and the first batch's trip through the pipeline excluded), the
 * documents that arrived after the first message, and the CPU time the whole process (every thread)
 * spent over the same span.
 */
import { decodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { defineStage } from '../../src/pipeline/stage';

export const stage = defineStage<Record<string, never>>(async (ctx) => {
  let docs = 0;
  let tokens = 0;
  let first = -1;
  let firstDocs = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  for await (const m of ctx.input('tokens')) {
    const d = decodeTokenizedDocs(m.payload);
    if (first < 0) {
      first = performance.now();
      cpu0 = process.cpuUsage();
      firstDocs = d.inputIds.length;
    }
    docs += d.inputIds.length;
    tokens += d.values.length;
  }
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  return { docs, tokens, steady_ms: performance.now() - first, steady_docs: docs - firstDocs, steady_cpu_ms: (cpu.user + cpu.system) / 1000 };
});
