/**
 * Starting and stopping tfjs-backend-wasm in Node, with threads.
 *
 * `initWasm(threads)` picks the build: threads > 1 (and SIMD present) → the threaded-SIMD build,
 * made to work in Node by `thread-hooks.ts` and the `WASM_HAS_MULTITHREAD_SUPPORT` flag; if that
 * fails (or does not come up within `timeoutMs`) it falls back to the single-thread SIMD build and
 * says so in `notes`. Afterwards:
 * - the `uncaughtException`/`unhandledRejection` listeners the package's emscripten glue adds
 *   (they rethrow, turning any stray error into a crash) are removed again;
 * - the heap's `malloc` throws `OutOfMemoryError` when the heap cannot grow (it returned 0 and
 *   tfjs wrote the tensor over the heap's own state, after which the next step spun forever);
 * - the pthread pool is trimmed to the workers the thread pool uses (the glue pre-spawns 8) and
 *   those are `unref`ed, so a process whose work is done exits by itself.
 * `shutdownWasm()` terminates the pthread workers and frees the heap, leaving the backend
 * registered so a later `initWasm` can start it again.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as wasmPackage from '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import { guardWasmAllocations } from '../memory/out-of-memory';
import { asWasmBackend } from './internals';
import { defaultScriptDir } from './pthread-scripts';
import { installThreadHooks } from './thread-hooks';

/** The emscripten pthread pool size compiled into tfjs-backend-wasm 4.22 (and the C++ cap). */
export const MAX_WASM_THREADS = 8;

export interface WasmInit {
  /** Threads the XNNPACK pool actually runs (the calling thread included). */
  threads: number;
  simd: boolean;
  threaded: boolean;
  notes: string[];
}

export interface WasmInitOptions {
  threads: number;
  /** Where the pthread scripts are written (default: a folder under the OS temp dir). */
  scriptDir?: string;
  /** How long the threaded build may take to come up before falling back (default 60 s). */
  timeoutMs?: number;
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type ProcessEvent = (typeof PROCESS_EVENTS)[number];
type Listener = (...args: unknown[]) => void;
type ListenerSnapshot = Record<ProcessEvent, Listener[]>;

function snapshotListeners(): ListenerSnapshot {
  return {
    uncaughtException: process.listeners('uncaughtException') as Listener[],
    unhandledRejection: process.listeners('unhandledRejection') as Listener[],
  };
}

/** Remove listeners added since `before`; re-add any of `before` that were removed. */
function restoreListeners(before: ListenerSnapshot): void {
  const emitter = process as unknown as {
    listeners(ev: string): Listener[];
    removeListener(ev: string, l: Listener): void;
    on(ev: string, l: Listener): void;
  };
  for (const ev of PROCESS_EVENTS) {
    for (const l of emitter.listeners(ev)) if (!before[ev].includes(l)) emitter.removeListener(ev, l);
    const after = emitter.listeners(ev);
    for (const l of before[ev]) if (!after.includes(l)) emitter.on(ev, l);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PtflowError(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function startThreaded(threads: number, scriptDir: string, timeoutMs: number): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmPackage.setThreadsCount(threads);
  const hooks = installThreadHooks(threads, scriptDir);
  try {
    const ok = await withTimeout(tf.setBackend('wasm'), timeoutMs, 'threaded wasm start');
    if (!ok) throw new PtflowError('tf.setBackend("wasm") failed for the threaded-SIMD build');
  } finally {
    hooks.restore();
  }
}

async function startSingle(): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasmPackage.setThreadsCount(1);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new PtflowError('tf.setBackend("wasm") failed (see the warning above)');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Keep only the pthread workers in use, and let them not hold the process open. */
function trimPthreadPool(): void {
  const pthread = asWasmBackend(tf.backend()).wasm.PThread;
  if (pthread == null) return;
  for (const w of pthread.unusedWorkers) void w.terminate();
  pthread.unusedWorkers.length = 0;
  for (const w of pthread.runningWorkers) w.unref();
}

export async function initWasm(opts: WasmInitOptions): Promise<WasmInit> {
  const notes: string[] = [];
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  let want = Math.max(1, Math.floor(opts.threads));
  if (want > MAX_WASM_THREADS) {
    notes.push(`wasm: ${want} threads requested, the wasm build supports at most ${MAX_WASM_THREADS}`);
    want = MAX_WASM_THREADS;
  }
  if (want > 1 && !simd) notes.push('wasm: no SIMD support in this runtime, so no threaded build');
  const listeners = snapshotListeners();
  let threaded = false;
  try {
    if (want > 1 && simd) {
      try {
        await startThreaded(want, opts.scriptDir ?? defaultScriptDir(), opts.timeoutMs ?? 60_000);
        threaded = true;
      } catch (e) {
        notes.push(`wasm: threaded-SIMD build failed (${errorText(e)}); using the single-thread build`);
      }
    }
    if (!threaded) await startSingle();
  } finally {
    restoreListeners(listeners);
  }
  const backend = asWasmBackend(tf.backend());
  // A heap that cannot grow must fail the allocation, not hand out offset 0 (see out-of-memory.ts).
  guardWasmAllocations(backend.wasm);
  const threads = threaded ? backend.wasm.tfjs.getThreadsCount() : 1;
  if (threaded) {
    trimPthreadPool();
    if (threads !== want) notes.push(`wasm: asked for ${want} threads, the thread pool runs ${threads}`);
  }
  return { threads, simd, threaded, notes };
}

/** Terminate the pthread workers and free the wasm heap; `initWasm` may be called again. */
export function shutdownWasm(): void {
  const engine = tf.engine() as unknown as {
    registryFactory: Record<string, { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number }>;
  };
  const entry = engine.registryFactory['wasm'];
  if (entry == null) return;
  const listeners = snapshotListeners();
  try {
    tf.removeBackend('wasm');
  } finally {
    restoreListeners(listeners);
    tf.registerBackend('wasm', entry.factory, entry.priority);
  }
}
