/**
 * Reuse of float32 output buffers on tfjs-backend-cpu. Every kernel output there is a fresh
 * JavaScript typed array; a fresh array is zero-filled memory the kernel takes page faults on
 * (arrays above glibc's 32 MiB mmap threshold are new mappings every time) and the garbage
 * collector unmaps later. For an 18.4M-element array (a 32000 × 576 embedding) that cost 14 ns
 * per element against 1 ns for the multiply it held; a training step allocates and drops the
 * same sizes over and over (every layer's activations, gradients and AdamW outputs).
 *
 * ptflow's cpu kernels take their outputs from `allocFloat32`: a buffer of the exact length that a
 * disposed tensor gave back, or a new one. A buffer handed out here returns to the pool when the
 * last tensor holding it (or a view of it: stock kernels' contiguous slices are views) leaves the
 * backend's data store. One that left the backend's hands through `readSync`/`read` (`dataSync()`,
 * `data()`, `bufferSync()` return the backend's own array on cpu) is never reused: its reader may
 * keep it. Arrays the pool did not hand out (user data given to `tf.tensor`, stock kernels'
 * outputs) are never taken in.
 *
 * The pool holds at most `limitBytes` (default 1 GiB, `setCpuBufferPoolLimit`); it drops its oldest
 * sizes first. Works on tfjs-core 4.x's DataStorage (`get` / `set` / `delete`).
 */
import type { DataId } from '@tensorflow/tfjs-core';
import { bufferIn, followStoreBuffers, type BufferStore } from '../memory/store-buffers';

interface StoreLike extends BufferStore {
  get(dataId: DataId): { values?: unknown } | undefined;
}

interface CpuBackendLike {
  data: StoreLike;
  readSync(dataId: DataId): unknown;
}

/** Smaller arrays are cheap to allocate (V8 keeps tiny ones on its own heap). */
const MIN_LENGTH = 4096;
const DEFAULT_LIMIT = 2 ** 30;

let limitBytes = DEFAULT_LIMIT;
let pooledBytes = 0;
let active = false;
/** Free buffers by length, each list oldest first. */
const free = new Map<number, Float32Array[]>();
/** Buffers handed out and not escaped → the array to reuse once no store entry holds them. */
const owned = new WeakMap<ArrayBufferLike, Float32Array>();
const stats = { allocated: 0, reused: 0, recycled: 0, escaped: 0 };

function recycle(array: Float32Array): void {
  const bytes = array.byteLength;
  if (bytes > limitBytes) return;
  // Oldest sizes go first until the buffer fits.
  for (const [len, list] of free) {
    if (pooledBytes + bytes <= limitBytes) break;
    while (list.length > 0 && pooledBytes + bytes > limitBytes) pooledBytes -= (list.shift() as Float32Array).byteLength;
    if (list.length === 0) free.delete(len);
  }
  const list = free.get(array.length);
  if (list) list.push(array);
  else free.set(array.length, [array]);
  pooledBytes += bytes;
  stats.recycled++;
}

/**
 * Follow `backend`'s data store so that buffers from `allocFloat32` come back when freed
 * (idempotent per backend instance). Until this runs, `allocFloat32` allocates.
 */
export function installCpuBufferPool(backend: unknown): void {
  const b = backend as Partial<CpuBackendLike> | null;
  const store = b?.data;
  if (b == null || store == null || typeof store.set !== 'function' || typeof store.delete !== 'function' || typeof b.readSync !== 'function') {
    return;
  }
  active = true;
  if ((store as { ptflowBufferPool?: boolean }).ptflowBufferPool === true) return;
  followStoreBuffers(store, 'ptflowBufferPool', {
    follows: (buf) => owned.has(buf),
    released(buf) {
      const array = owned.get(buf);
      if (array === undefined) return; // escaped to a reader meanwhile
      owned.delete(buf);
      recycle(array);
    },
  });
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId) => {
    // The caller gets the backend's own array: it may keep it, so it is never reused.
    const buf = bufferIn(store.get(dataId));
    if (buf !== undefined && owned.delete(buf)) stats.escaped++;
    return readSync(dataId);
  };
}

/**
 * A float32 array of `length` for a kernel output on the cpu backend: a freed one of that length
 * when the pool has one (its old values unless `zero`), else a new (zero-filled) one.
 */
export function allocFloat32(length: number, zero = false): Float32Array {
  if (!active || length < MIN_LENGTH) return new Float32Array(length);
  const list = free.get(length);
  let array = list?.pop();
  if (array !== undefined) {
    pooledBytes -= array.byteLength;
    if (list?.length === 0) free.delete(length);
    if (zero) array.fill(0);
    stats.reused++;
  } else {
    array = new Float32Array(length);
    stats.allocated++;
  }
  owned.set(array.buffer, array);
  return array;
}

/** Most bytes the pool keeps now (`setCpuBufferPoolLimit`). */
export function cpuBufferPoolLimit(): number {
  return limitBytes;
}

/** Most bytes the pool keeps (default 1 GiB); lowering it drops buffers at once. */
export function setCpuBufferPoolLimit(bytes: number): void {
  limitBytes = Math.max(0, bytes);
  for (const [len, list] of free) {
    while (list.length > 0 && pooledBytes > limitBytes) pooledBytes -= (list.shift() as Float32Array).byteLength;
    if (list.length === 0) free.delete(len);
  }
}

/** Drop every pooled buffer (the garbage collector takes them). */
export function clearCpuBufferPool(): void {
  free.clear();
  pooledBytes = 0;
}

/** Counts since start: buffers allocated new, reused, taken back, and lost to readers. */
export function cpuBufferPoolStats(): { allocated: number; reused: number; recycled: number; escaped: number; pooledBytes: number } {
  return { ...stats, pooledBytes };
}
