/**
 * Loads the optional MPI transport addon, `native/mpi/build/Release/ptflow_mpi.node` (built by
 * `node native/build.js` when MPI is installed; see native/README.md), and types its surface.
 * Loading does not initialise MPI; `init()` does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { ReduceOp } from './collective';

export interface MpiWorldInfo {
  rank: number;
  size: number;
  /** What MPI_Init_thread provided (MPI_THREAD_MULTIPLE is 3 in MPICH). */
  threadLevel: number;
  threadMultiple: boolean;
  /** First line of MPI_Get_library_version, e.g. 'MPICH Version: 4.0.2'. */
  library: string;
  /**
   * Allreduce runs through a window of shared memory (every rank on this machine; PTFLOW_MPI_SHM=0
   * turns it off) instead of MPI_Allreduce. Absent from an addon built before it existed.
   */
  sharedMemory?: boolean;
}

export interface MpiBinding {
  /** MPI_Init_thread(MPI_THREAD_MULTIPLE) on the addon's communication thread; idempotent, blocks until wired up. */
  init(): MpiWorldInfo;
  /**
   * In place; settles when this rank's buffer holds the result. Rejects (code 'PTFLOW_MPI') on MPI
   * errors or length mismatch across ranks, and (code 'PTFLOW_MPI_TIMEOUT') when the other ranks
   * do not all join within the collective timeout (the same for broadcast and barrier).
   */
  allreduce(buf: Float32Array | Float64Array, op: ReduceOp): Promise<void>;
  broadcast(buf: ArrayBufferView, root: number): Promise<void>;
  barrier(): Promise<void>;
  /**
   * MPI_Abort(MPI_COMM_WORLD, code), once the launcher has read what this process wrote to stdout
   * and stderr (waitOutputTaken(5000): mpiexec exits when the abort reaches it, dropping unread
   * lines). Does not return when MPI is up; false otherwise.
   */
  abort(code: number): boolean;
  /** Waits until this process's reader has taken all it wrote to stdout and stderr (pipes, sockets); false after `timeoutMs`. */
  waitOutputTaken(timeoutMs: number): boolean;
  /** Runs the queued collectives, then MPI_Finalize; blocks. */
  finalize(): void;
  initialized(): boolean;
  finalized(): boolean;
  /** Bytes per MPI call of a chunked allreduce / broadcast (default 16 MiB). */
  setChunkBytes(bytes: number): void;
  chunkBytes(): number;
  /**
   * How the addon's thread waits inside a collective: 'polite' (default) polls 20 µs, then yields
   * the core, then naps, leaving the cores to compute threads; 'spin' polls hot (MPI's own
   * behaviour; lowest latency when each rank has idle cores). PTFLOW_MPI_WAIT=spin sets it at load.
   */
  setWaitMode(mode: 'spin' | 'polite'): void;
  waitMode(): 'spin' | 'polite';
  /**
   * How long one collective may wait for the other ranks (seconds; 0: for ever; default 1800).
   * On expiry this rank asks every other rank what it is doing (each rank's communication thread
   * answers whatever its JavaScript is doing; a stopped process cannot), rejects with code
   * 'PTFLOW_MPI_TIMEOUT' and the answers in the message, and refuses every later collective: the
   * timed-out one stays posted inside MPI, so the job can only be aborted.
   */
  setTimeoutSeconds(seconds: number): void;
  timeoutSeconds(): number;
  /**
   * A stop signal reached this process: the collective in progress, or the next one, first asks
   * every other rank whether it is there. One that does not answer within 5 s (its process is
   * gone or stopped) ends that collective as a timeout does (code 'PTFLOW_MPI_TIMEOUT'), naming
   * it. Any thread; a no-op for ranks that answer.
   */
  requestStopProbe(): void;
}

export type MpiLoad = { ok: true; binding: MpiBinding; file: string } | { ok: false; reason: string };

const RELATIVE = path.join('native', 'mpi', 'build', 'Release', 'ptflow_mpi.node');

function packageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'native', 'mpi', 'binding.gyp'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Where the addon is looked for (the build output inside the package). */
export function defaultMpiAddonPath(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, RELATIVE);
}

function isBinding(x: unknown): x is MpiBinding {
  const o = x as Partial<MpiBinding> | null;
  return (
    o != null &&
    typeof o.init === 'function' &&
    typeof o.allreduce === 'function' &&
    typeof o.broadcast === 'function' &&
    typeof o.barrier === 'function' &&
    typeof o.abort === 'function' &&
    typeof o.finalize === 'function' &&
    typeof o.setTimeoutSeconds === 'function' &&
    typeof o.requestStopProbe === 'function'
  );
}

const loaded = new Map<string, MpiLoad>();

/**
 * UCX (MPICH's transport on Debian) reads these when its library loads, with the addon. By
 * default it patches malloc/mmap of the whole process while it starts (on the addon's own
 * thread, with V8's threads running: a crash seen in V8's compiler) and takes SIGSEGV from
 * V8 (which owns it for WebAssembly bounds checks). ptflow passes heap buffers and needs
 * neither UCX's registration cache nor its backtraces. A value the user set is kept. Only the
 * main thread can change the process environment, so the CLI loads the addon there first.
 */
const UCX_DEFAULTS: Record<string, string> = {
  UCX_MEM_EVENTS: 'no',
  UCX_MEM_MALLOC_HOOKS: 'no',
  UCX_MEM_MALLOC_RELOC: 'no',
  UCX_MEM_MMAP_HOOK_MODE: 'none',
  UCX_ERROR_SIGNALS: '',
};

function setUcxDefaults(): void {
  if (!isMainThread) return;
  for (const [key, value] of Object.entries(UCX_DEFAULTS)) if (process.env[key] === undefined) process.env[key] = value;
}

/** The addon at `file` (default: the package's build output), loaded once per thread. */
export function loadMpiBinding(file: string | undefined = defaultMpiAddonPath()): MpiLoad {
  const key = file ?? '';
  const hit = loaded.get(key);
  if (hit) return hit;
  let result: MpiLoad;
  if (file === undefined || !fs.existsSync(file)) {
    result = { ok: false, reason: `${file ?? RELATIVE} is missing (the MPI transport was not built)` };
  } else {
    try {
      setUcxDefaults();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod: unknown = require(file);
      result = isBinding(mod) ? { ok: true, binding: mod, file } : { ok: false, reason: `${file} is not the ptflow MPI addon` };
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      result = { ok: false, reason: `${file} does not load: ${msg}` };
    }
  }
  loaded.set(key, result);
  return result;
}
