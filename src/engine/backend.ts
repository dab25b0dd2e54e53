/**
 * Chooses and starts the TensorFlow.js backend: the only module that does.
 *
 * How the choice is made (`initBackend(requested)`):
 * - `auto`: try `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` (optional dependencies,
 *   native TensorFlow; each registers a `tensorflow` backend when it loads); if neither loads or
 *   starts, `webgpu` when Dawn finds a real GPU adapter (a software one is never picked here; see
 *   webgpu/init.ts); then `wasm` (SIMD, threaded when threads > 1, see wasm/init.ts); if wasm
 *   cannot start, or the caller says the run cannot fit its 4 GiB heap (`wasmUnfit`), `cpu`.
 *   Every step that was skipped leaves a line in `notes`.
 * - `tensorflow`: the same two packages, in that order; if neither loads, a PtflowError that says
 *   how to install one.
 * - `webgpu`: that backend on the first GPU adapter, or on a software adapter when
 *   `webgpuAllowSoftware`; otherwise a PtflowError that says what is missing and how to allow it.
 * - `wasm`, `cpu`: exactly that backend (wasm may still fall back from threaded to single-thread,
 *   with a note).
 * After the backend is set, ptflow's kernels for it are registered (kernels/register.ts) and, for
 * wasm and cpu, the optional native kernel addon is asked to register its kernels (unless
 * PTFLOW_NATIVE=0); a failure there is a note, never an error. The first call also makes
 * backprop release memory as it goes (kernels/backprop-release.ts).
 *
 * Idempotent per process: a second call returns the first call's result when it asks for `auto`
 * or for the backend already running, and is an error otherwise (`shutdownBackend()` first).
 * `shutdownBackend()` stops wasm's pthread workers (so a process can exit without waiting for
 * them) and allows `initBackend` again.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PtflowError, usageError } from '../errors';
import { installBackpropRelease } from './kernels/backprop-release';
import { registerPtflowKernels } from './kernels/register';
import { clearCpuBufferPool } from './kernels/cpu-buffer-pool';
import { initWasm, shutdownWasm } from './wasm/init';
import { startWebgpu, stopWebgpu } from './webgpu/init';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendRequest = 'auto' | BackendName;

/** What the optional native kernel addon reported. */
export interface NativeStatus {
  active: boolean;
  reason?: string;
  isa?: string;
}

export interface BackendInfo {
  name: BackendName;
  /** The npm package that provides the backend. */
  module?: string;
  /** Threads the backend computes with (wasm: its thread pool; cpu: 1; tensorflow: cores; webgpu: 1, the GPU computes). */
  threads: number;
  /** Whether the backend runs vectorised (SIMD) code. */
  simd: boolean;
  notes: string[];
  /** Present when the native kernel addon was asked (wasm and cpu). */
  native?: NativeStatus;
  /** webgpu: the adapter (device / description, vendor, the Dawn backend reaching it). */
  adapter?: string;
  /** webgpu: why this adapter (a GPU, or a software one allowed by webgpu_allow_software). */
  adapterWhy?: string;
}

export interface InitBackendOptions {
  /** wasm threads (default: all cores). */
  threads?: number;
  /** Loads an optional package by id (default: `require`); tests pass a stand-in. */
  requireModule?: (id: string) => unknown;
  /** `webgpu` (requested explicitly) may run on a software adapter (`webgpu_allow_software`). */
  webgpuAllowSoftware?: boolean;
  /** Why the run cannot fit the wasm heap: `auto` then goes from tensorflow straight to cpu. */
  wasmUnfit?: string;
}

/** Tried in this order for `tensorflow` (and first for `auto`). */
export const TENSORFLOW_MODULES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

const INSTALL_HINT =
  'Install it with `npm install @tensorflow/tfjs-node-gpu` (NVIDIA GPU with CUDA) or ' +
  '`npm install @tensorflow/tfjs-node` (CPU), and approve its install script where npm blocks ' +
  'dependency install scripts (it downloads libtensorflow); or use backend: wasm.';

let current: { requested: BackendRequest; promise: Promise<BackendInfo> } | undefined;
let resolved: BackendInfo | undefined;

/**
 * The cores this process may use, shared among the ranks an MPI launcher started on this machine
 * (MPICH's MPI_LOCALNRANKS, Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE): two ranks on two cores get one
 * thread each, not two each (oversubscribed pools wait on each other at every kernel).
 */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const ap = (os as { availableParallelism?: () => number }).availableParallelism;
  const cores = Math.max(1, typeof ap === 'function' ? ap() : os.cpus().length);
  const local = Number(env['MPI_LOCALNRANKS'] ?? env['OMPI_COMM_WORLD_LOCAL_SIZE'] ?? 1);
  return Number.isInteger(local) && local > 1 ? Math.max(1, Math.floor(cores / local)) : cores;
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

async function tryTensorflow(
  requireModule: (id: string) => unknown,
  notes: string[],
): Promise<BackendInfo | undefined> {
  for (const id of TENSORFLOW_MODULES) {
    try {
      requireModule(id);
    } catch (e) {
      notes.push(`${id}: not loaded (${errorText(e)})`);
      // A package whose binary is missing fails after registering its kernels; drop them so the next
      // package does not print "kernel … is already registered" once per kernel.
      if (tf.findBackendFactory('tensorflow') == null) {
        for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
      }
      continue;
    }
    if (tf.findBackendFactory('tensorflow') == null) {
      notes.push(`${id}: loaded but registered no 'tensorflow' backend`);
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      notes.push(`${id}: loaded but the 'tensorflow' backend failed to start`);
      continue;
    }
    registerPtflowKernels('tensorflow');
    return { name: 'tensorflow', module: id, threads: defaultThreads(), simd: true, notes };
  }
  return undefined;
}

/** Ask the native addon (src/engine/native) to register its kernels; never throws. */
function registerNative(backend: 'wasm' | 'cpu', threads: number, notes: string[]): NativeStatus {
  if (process.env['PTFLOW_NATIVE'] === '0') {
    notes.push('native kernels: disabled (PTFLOW_NATIVE=0)');
    return { active: false, reason: 'PTFLOW_NATIVE=0' };
  }
  try {
    // Loaded lazily, not imported: the addon is optional and may be absent or fail to load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('./native') as Partial<typeof import('./native')>;
    if (typeof mod.registerNativeKernels !== 'function') {
      notes.push('native kernels: module has no registerNativeKernels');
      return { active: false, reason: 'no registerNativeKernels export' };
    }
    const r: Partial<NativeStatus> | null | undefined = mod.registerNativeKernels(backend);
    // The kernels' pool uses as many threads as the backend was given (num_threads), unless
    // PTFLOW_NATIVE_THREADS says otherwise.
    if (r?.active === true && process.env['PTFLOW_NATIVE_THREADS'] === undefined) mod.setNativeThreads?.(threads);
    const status: NativeStatus = {
      active: r?.active === true,
      ...(typeof r?.reason === 'string' ? { reason: r.reason } : {}),
      ...(typeof r?.isa === 'string' ? { isa: r.isa } : {}),
    };
    notes.push(
      status.active
        ? `native kernels: active${status.isa ? ` (${status.isa})` : ''}`
        : `native kernels: inactive${status.reason ? ` (${status.reason})` : ''}`,
    );
    return status;
  } catch (e) {
    notes.push(`native kernels: not loaded (${errorText(e)})`);
    return { active: false, reason: errorText(e) };
  }
}

async function startWasm(threads: number, notes: string[]): Promise<BackendInfo> {
  const w = await initWasm({ threads });
  notes.push(...w.notes);
  registerPtflowKernels('wasm');
  const native = registerNative('wasm', threads, notes);
  return { name: 'wasm', module: '@tensorflow/tfjs-backend-wasm', threads: w.threads, simd: w.simd, notes, native };
}

async function startCpu(threads: number, notes: string[]): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new PtflowError("the 'cpu' backend failed to start");
  // The cpu backend's first tensor prints an advert for tfjs-node; the choice is explained here.
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  notes.push('cpu: the plain-JavaScript backend is slow (wasm is ~30x faster); see backend: auto');
  registerPtflowKernels('cpu');
  const native = registerNative('cpu', threads, notes);
  return { name: 'cpu', module: '@tensorflow/tfjs-backend-cpu', threads: 1, simd: false, notes, native };
}

async function tryWebgpu(
  mode: 'auto' | 'explicit',
  opts: InitBackendOptions,
  notes: string[],
): Promise<BackendInfo | undefined> {
  const started = await startWebgpu(
    { mode, allowSoftware: opts.webgpuAllowSoftware === true, ...(opts.requireModule ? { requireModule: opts.requireModule } : {}) },
    notes,
  );
  if (started === undefined) return undefined;
  registerPtflowKernels('webgpu');
  notes.push(`webgpu: ${started.adapter} — ${started.why}`);
  return {
    name: 'webgpu',
    module: '@tensorflow/tfjs-backend-webgpu',
    threads: 1,
    simd: false,
    notes,
    adapter: started.adapter,
    adapterWhy: started.why,
  };
}

async function start(requested: BackendRequest, opts: InitBackendOptions): Promise<BackendInfo> {
  const notes: string[] = [];
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw usageError(`backend threads must be a positive integer, got ${threads}`);
  }
  const requireModule = opts.requireModule ?? ((id: string): unknown => require(id));
  switch (requested) {
    case 'tensorflow': {
      const info = await tryTensorflow(requireModule, notes);
      if (info != null) return info;
      throw usageError(
        `backend 'tensorflow' requested, but neither ${TENSORFLOW_MODULES.join(' nor ')} could be used ` +
          `(${notes.join('; ')}). ${INSTALL_HINT}`,
      );
    }
    case 'webgpu':
      return (await tryWebgpu('explicit', opts, notes)) as BackendInfo;
    case 'wasm':
      return startWasm(threads, notes);
    case 'cpu':
      return startCpu(threads, notes);
    case 'auto': {
      const info = (await tryTensorflow(requireModule, notes)) ?? (await tryWebgpu('auto', opts, notes));
      if (info != null) return info;
      if (opts.wasmUnfit !== undefined) {
        notes.push(`wasm: skipped (${opts.wasmUnfit}); using cpu`);
        return startCpu(threads, notes);
      }
      try {
        return await startWasm(threads, notes);
      } catch (e) {
        notes.push(`wasm: failed to start (${errorText(e)}); using cpu`);
        return startCpu(threads, notes);
      }
    }
    default:
      throw usageError(`unknown backend '${String(requested)}': expected auto, tensorflow, webgpu, wasm or cpu`);
  }
}

/** Choose, start and prepare the backend (see the module comment). */
export function initBackend(requested: BackendRequest, opts: InitBackendOptions = {}): Promise<BackendInfo> {
  if (current != null) {
    const first = current;
    return first.promise.then((info) => {
      if (requested === 'auto' || requested === first.requested || requested === info.name) return info;
      throw usageError(
        `backend '${requested}' requested, but this process already runs '${info.name}' ` +
          '(call shutdownBackend() before switching)',
      );
    });
  }
  // Backprop frees gradients and saved tensors as it goes (753 → 436 MiB of tensors at the
  // reference step's peak); values are unchanged. Process-wide, once.
  installBackpropRelease();
  const entry = { requested, promise: start(requested, opts) };
  current = entry;
  entry.promise.then(
    (info) => {
      if (current === entry) resolved = info;
    },
    () => {
      if (current === entry) current = undefined;
    },
  );
  return entry.promise;
}

/** The backend `initBackend` started in this process (undefined before it resolves). */
export function backendInfo(): BackendInfo | undefined {
  return resolved;
}

/**
 * Whether matMul with transpose flags and batched (3-D) products run on a fast path: true for
 * the tensorflow backend and where the native kernels replaced BatchMatMul. Stock wasm runs only
 * untransposed, batch-1 products fast (tfjs-findings.md), so model code there transposes
 * explicitly and multiplies per head.
 */
export function fastFlaggedMatMul(info: BackendInfo | undefined = resolved): boolean {
  return info != null && (info.name === 'tensorflow' || info.native?.active === true);
}

/** Stop what initBackend started (wasm pthread workers, heap); initBackend may be called again. */
export async function shutdownBackend(): Promise<void> {
  const entry = current;
  if (entry == null) return;
  current = undefined;
  resolved = undefined;
  let info: BackendInfo;
  try {
    info = await entry.promise;
  } catch {
    return;
  }
  if (info.name === 'wasm') shutdownWasm();
  // Freed cpu tensor buffers kept for reuse (up to 1 GiB) go to the garbage collector.
  if (info.name === 'cpu') clearCpuBufferPool();
  if (info.name === 'webgpu') {
    // Disposes the backend (its GPU device) and lets the process exit.
    if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
    stopWebgpu();
  }
}
