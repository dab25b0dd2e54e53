/**
 * The steady-state window of a bench sink (bench/actors/*-sink.ts): it opens at the first message
 * that arrives once `warmupDocs` documents have arrived (at least one message: thread start-up and
 * the first batch's trip through the pipeline are never in it; with warmupDocs > 0 the first
 * batches, while each stage's code is still being compiled, are not either) and closes at the end.
 * CPU time is the whole process's (every thread) over the same span.
 */
export interface SteadyResult {
  docs: number;
  steady_ms: number;
  /** Documents that arrived inside the window (after the message that opened it). */
  steady_docs: number;
  steady_cpu_ms: number;
}

export class SteadyWindow {
  private docs = 0;
  private start = -1;
  private docsAtStart = 0;
  private cpu0: NodeJS.CpuUsage | null = null;

  constructor(private readonly warmupDocs: number) {}

  /** A message of `n` documents arrived. */
  arrived(n: number): void {
    this.docs += n;
    if (this.start < 0 && this.docs >= Math.max(1, this.warmupDocs)) {
      this.start = performance.now();
      this.cpu0 = process.cpuUsage();
      this.docsAtStart = this.docs;
    }
  }

  result(): SteadyResult {
    const cpu = process.cpuUsage(this.cpu0 ?? undefined);
    return { docs: this.docs, steady_ms: performance.now() - this.start, steady_docs: this.docs - this.docsAtStart, steady_cpu_ms: (cpu.user + cpu.system) / 1000 };
  }
}
