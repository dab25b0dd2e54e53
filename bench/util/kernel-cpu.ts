/**
 * Per-kernel CPU time split into the calling (main) thread's and all threads' share, so a
 * benchmark on a shared machine can tell which kernels still run on one thread: with N threads a
 * kernel spread evenly costs the main thread about 1/N of the total, a serial one all of it.
 * Wraps every registered kernel of the active backend (tf's registry hands out the same config
 * object on each lookup, so replacing its `kernelFunc` reaches every call). Main-thread time
 * and all threads' from the native addon's clock_gettime clocks (CLOCK_THREAD_CPUTIME_ID,
 * CLOCK_PROCESS_CPUTIME_ID), exact to the call. Without the addon: each thread's
 * /proc/self/task/<tid>/schedstat (Linux only), which for a running thread lags until its next
 * tick or context switch, so a kernel that waits for pool workers is charged the main thread's
 * unflushed time from before it (up to a tick per call) and serial ones too little.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../../src/engine/native/addon';

export interface KernelCpu {
  name: string;
  calls: number;
  /** CPU time of the thread that called the kernel. */
  mainMs: number;
  /** CPU time of every thread of the process while the kernel ran. */
  allMs: number;
}

function exactClocks(): { thread: () => number; process: () => number } | undefined {
  const load = loadNativeAddon();
  if (!load.ok) return undefined;
  const { threadCpuNs, processCpuNs } = load.addon;
  if (typeof threadCpuNs !== 'function' || typeof processCpuNs !== 'function') return undefined;
  return { thread: () => threadCpuNs.call(load.addon), process: () => processCpuNs.call(load.addon) };
}

const exact = exactClocks();

function threadNs(): number {
  if (exact !== undefined) return exact.thread();
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

/** Open schedstat files of this process's threads, re-read in place (pread at 0). */
class ThreadClock {
  private fds: number[] = [];
  private readonly buf = Buffer.alloc(128);

  constructor() {
    this.refresh();
  }

  /** Picks up threads started since (the pools start theirs lazily). */
  refresh(): void {
    for (const fd of this.fds) fs.closeSync(fd);
    if (exact !== undefined) return;
    this.fds = fs.readdirSync('/proc/self/task').map((tid) => fs.openSync(`/proc/self/task/${tid}/schedstat`, 'r'));
  }

  /** Σ CPU nanoseconds of the threads. */
  allNs(): number {
    if (exact !== undefined) return exact.process();
    let ns = 0;
    for (const fd of this.fds) {
      const n = fs.readSync(fd, this.buf, 0, this.buf.length, 0);
      ns += Number(this.buf.toString('latin1', 0, n).split(' ')[0]);
    }
    return ns;
  }

  close(): void {
    for (const fd of this.fds) fs.closeSync(fd);
    this.fds = [];
  }
}

/** Starts counting; `report()` gives the totals since, largest main-thread share first. */
/** `reset()` also picks up threads started since the last reset. */
export function trackKernelCpu(): { report(): KernelCpu[]; byShape(): KernelCpu[]; reset(): void; stop(): void } {
  const totals = new Map<string, KernelCpu>();
  const shapes = new Map<string, KernelCpu>();
  const backend = tf.getBackend();
  const restore: Array<() => void> = [];
  let depth = 0;
  const clock = new ThreadClock();
  for (const cfg of tf.getKernelsForBackend(backend)) {
    const inner = cfg.kernelFunc;
    const wrapped: tf.KernelFunc = (params) => {
      if (depth > 0) return inner(params);
      depth++;
      const m0 = threadNs();
      const a0 = clock.allNs();
      try {
        return inner(params);
      } finally {
        const mainMs = (threadNs() - m0) / 1e6;
        const allMs = (clock.allNs() - a0) / 1e6;
        const key = `${cfg.kernelName} [${Object.values(params.inputs).map((t) => t?.shape.join('×') ?? '-').join(', ')}]`;
        for (const [m, k] of [[totals, cfg.kernelName], [shapes, key]] as const) {
          const t = m.get(k) ?? { name: k, calls: 0, mainMs: 0, allMs: 0 };
          t.calls++;
          t.mainMs += mainMs;
          t.allMs += allMs;
          m.set(k, t);
        }
        depth--;
      }
    };
    (cfg as { kernelFunc: tf.KernelFunc }).kernelFunc = wrapped;
    restore.push(() => ((cfg as { kernelFunc: tf.KernelFunc }).kernelFunc = inner));
  }
  return {
    report: () => [...totals.values()].sort((a, b) => b.mainMs - a.mainMs),
    /** The same split by kernel and input shapes. */
    byShape: () => [...shapes.values()].sort((a, b) => b.mainMs - a.mainMs),
    reset: () => {
      totals.clear();
      shapes.clear();
      clock.refresh();
    },
    stop: () => {
      restore.forEach((r) => r());
      clock.close();
    },
  };
}

/** Main thread's CPU milliseconds so far (for the time spent outside kernels). */
export function mainThreadCpuMs(): number {
  return threadNs() / 1e6;
}
