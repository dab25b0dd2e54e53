/**
 * Small statistics and timing helpers for the benchmarks. Besides wall time they take the
 * process's CPU time (all threads): on a shared machine CPU time per step is what the step
 * costs even when other processes take turns on the cores.
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds since `t0` (a `process.hrtime.bigint()` value). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A wall-clock and CPU-time stopwatch. */
export interface Lap {
  wallMs: number;
  cpuMs: number;
}

export function startLap(): () => Lap {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { wallMs: msSince(t0), cpuMs: (c.user + c.system) / 1000 };
  };
}
