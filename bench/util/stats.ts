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

/** Median seconds of `fn` over reps filling about `budget` seconds (at least 3, after a warm-up). */
export function timeIt(fn: () => void, budget: number): number {
  fn();
  const times: number[] = [];
  const start = process.hrtime.bigint();
  while (times.length < 3 || (Number(process.hrtime.bigint() - start) / 1e9 < budget && times.length < 50)) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}
