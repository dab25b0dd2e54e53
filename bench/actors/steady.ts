/**
 * The steady-state window of a bench sink (bench/actors/*-sink.ts): it opens at the first message
 * that arrives once `warmupDocs` documents have arrived (at least one message: thread start-up and
 * the first batch's trip through the pipeline are never in it; with warmupDocs > 0 the first
 * batches, while each stage's code is still being compiled, are not either) and closes at the end.
 * CPU time is the whole process's (every thread) over the same span.
 *
 * With `threads`, each thread's CPU time is also read (bench/util/thread-cpu.ts) at the window's
 * opening and every `THREAD_SAMPLE_EVERY` messages after, and the result says how much the busiest
 * thread worked between the opening and the last reading, per document: on a machine shared with
 * other work, where the wall time says little, that bounds what the pipeline can do on its own.
 * (Readings are taken while messages still arrive: a thread that ends before the stream does is
 * still in them.)
 */
import { cpuSpread, threadCpuMs } from '../util/thread-cpu';

const THREAD_SAMPLE_EVERY = 8;

export interface SteadyResult {
  docs: number;
  steady_ms: number;
  /** Documents that arrived inside the window (after the message that opened it). */
  steady_docs: number;
  steady_cpu_ms: number;
  /** With threads: the busiest thread's CPU ms and every thread's, over `sampled_docs` documents. */
  busiest_thread_cpu_ms?: number;
  threads_cpu_ms?: number;
  sampled_docs?: number;
}

export class SteadyWindow {
  private docs = 0;
  private start = -1;
  private docsAtStart = 0;
  private cpu0: NodeJS.CpuUsage | null = null;
  private messages = 0;
  private threads0: Map<number, number> | null = null;
  private lastSample: { threads: Map<number, number>; docs: number } | null = null;

  constructor(
    private readonly warmupDocs: number,
    private readonly threads = false,
  ) {}

  /** A message of `n` documents arrived. */
  arrived(n: number): void {
    this.docs += n;
    if (this.start < 0) {
      if (this.docs < Math.max(1, this.warmupDocs)) return;
      this.start = performance.now();
      this.cpu0 = process.cpuUsage();
      this.docsAtStart = this.docs;
      if (this.threads) this.threads0 = threadCpuMs();
      return;
    }
    if (this.threads && ++this.messages % THREAD_SAMPLE_EVERY === 0) this.lastSample = { threads: threadCpuMs(), docs: this.docs };
  }

  result(): SteadyResult {
    const cpu = process.cpuUsage(this.cpu0 ?? undefined);
    const r: SteadyResult = {
      docs: this.docs, steady_ms: performance.now() - this.start, steady_docs: this.docs - this.docsAtStart, steady_cpu_ms: (cpu.user + cpu.system) / 1000,
    };
    if (this.threads0 !== null && this.lastSample !== null) {
      const spread = cpuSpread(this.threads0, this.lastSample.threads);
      r.busiest_thread_cpu_ms = spread.maxThreadMs;
      r.threads_cpu_ms = spread.totalMs;
      r.sampled_docs = this.lastSample.docs - this.docsAtStart;
    }
    return r;
  }
}
