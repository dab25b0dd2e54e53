/**
 * CPU time of each thread of this process (Linux: /proc/self/task/<tid>/stat, utime + stime in
 * clock ticks of 10 ms), so a benchmark can tell how a step's work was spread over its threads
 * even when the machine is shared: the busiest thread's CPU time bounds the step's wall time on
 * an otherwise idle machine from below. Empty where /proc is absent.
 */
import * as fs from 'node:fs';

const TICK_MS = 10;

export function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * TICK_MS);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Total and busiest-thread CPU milliseconds between two `threadCpuMs` readings. */
export function cpuSpread(before: Map<number, number>, after: Map<number, number>): { totalMs: number; maxThreadMs: number } {
  let totalMs = 0;
  let maxThreadMs = 0;
  for (const [tid, ms] of after) {
    const d = ms - (before.get(tid) ?? 0);
    totalMs += d;
    maxThreadMs = Math.max(maxThreadMs, d);
  }
  return { totalMs, maxThreadMs };
}
