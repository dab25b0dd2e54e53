/**
 * Synchronous reads (`dataSync`) on the tfjs webgpu backend under Node.
 *
 * Why: ptflow reads the loss, the gradient norm, optimizer state and weights with `dataSync`.
 * tfjs-backend-webgpu implements `readSync` with an `OffscreenCanvas`, which Node lacks, so it
 * throws there. WebGPU itself only maps buffers asynchronously (`mapAsync`).
 *
 * How: Dawn's Node bindings complete a `mapAsync` when the device is ticked, and they schedule
 * that tick through the global `setImmediate` (a native function passed from C++; Dawn's
 * AsyncRunner). `installTickCapture` wraps `setImmediate` so that those native callbacks are also
 * kept in a list; `readSync` then copies the tensor's buffer to a mappable one, calls `mapAsync`
 * and runs the pending Dawn ticks itself until the buffer reports `mapState === 'mapped'`
 * (set natively, before the promise settles), and reads the range. A tick run here is marked so
 * that the event loop's copy does nothing later. Anything that is not a native callback goes
 * straight to Node's `setImmediate`, untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { hostGlobal } from './host';

type Immediate = ReturnType<typeof setImmediate>;
interface PendingTick {
  run(): void;
}

const pending = new Set<PendingTick>();
let realSetImmediate: typeof setImmediate | undefined;

function isNativeCallback(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && /\{\s*\[native code\]\s*\}/.test(Function.prototype.toString.call(fn));
}

/** Route Dawn's tick callbacks through a list that `runPendingTicks` can drain. Idempotent. */
export function installTickCapture(): void {
  if (realSetImmediate !== undefined) return;
  const real = hostGlobal.setImmediate;
  realSetImmediate = real;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]): Immediate {
    if (!isNativeCallback(fn)) return real(fn, ...args);
    let done = false;
    const tick: PendingTick = {
      run: () => {
        if (done) return;
        done = true;
        pending.delete(tick);
        fn(...args);
      },
    };
    pending.add(tick);
    return real(() => tick.run());
  };
  // keep util.promisify(setImmediate) and friends working
  Object.assign(wrapped, real);
  hostGlobal.setImmediate = wrapped as typeof setImmediate;
}

/** Put Node's own `setImmediate` back (shutdown). */
export function removeTickCapture(): void {
  if (realSetImmediate === undefined) return;
  hostGlobal.setImmediate = realSetImmediate;
  realSetImmediate = undefined;
  pending.clear();
}

/** Run the Dawn ticks queued so far (and any they queue); returns how many ran. */
function runPendingTicks(): number {
  const ticks = [...pending];
  for (const t of ticks) t.run();
  return ticks.length;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** What of a GPUBuffer this module uses. */
interface MappableBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/**
 * Map `buffer` for reading without returning to the event loop. Throws when Dawn queued no tick
 * to complete the mapping (nothing could ever complete it here) or after `timeoutMs`.
 */
export function mapReadSync(buffer: MappableBuffer, mapRead: number, timeoutMs = 600_000): void {
  if (realSetImmediate === undefined) throw new Error('webgpu: synchronous reads need installTickCapture() first');
  const p = buffer.mapAsync(mapRead);
  let failure: unknown;
  p.catch((e: unknown) => {
    failure = e;
  });
  const start = Date.now();
  let spins = 0;
  while (buffer.mapState !== 'mapped') {
    if (failure !== undefined) throw failure;
    if (runPendingTicks() === 0) {
      throw new Error(`webgpu: no device tick pending while mapping a buffer for a synchronous read (mapState ${buffer.mapState})`);
    }
    if (buffer.mapState === 'mapped') break;
    // The GPU (or llvmpipe's threads, on the CPU) is still working: yield the core briefly.
    if (++spins > 16) Atomics.wait(sleeper, 0, 0, 0.05);
    if (Date.now() - start > timeoutMs) throw new Error(`webgpu: a synchronous read did not complete within ${timeoutMs} ms`);
  }
}

let deviceError: string | undefined;

/**
 * Record an error the device reported (its `uncapturederror` event): a shader or pipeline that
 * failed validation leaves its output unwritten, so the next synchronous read throws it instead
 * of returning wrong numbers.
 */
export function noteDeviceError(message: string): void {
  deviceError ??= message.split('\n')[0];
}

/** The internals of tfjs-backend-webgpu's `WebGPUBackend` that `readSync` needs (4.22). */
interface WebgpuBackendInternals {
  tensorMap: { get(dataId: object): { values?: tf.backend_util.BackendValues | null; dtype: tf.DataType; resource?: MappableBuffer; complexTensorInfos?: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): MappableBuffer; releaseBuffer(b: MappableBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: MappableBuffer, so: number, dst: MappableBuffer, d: number, size: number): void } | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, data: tf.backend_util.TypedArray): tf.backend_util.TypedArray;
  readSync(dataId: object): tf.backend_util.BackendValues;
}

function hasInternals(b: unknown): b is WebgpuBackendInternals {
  const o = b as Partial<Record<keyof WebgpuBackendInternals, unknown>>;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.tensorMap === 'object' &&
    typeof o.bufferManager === 'object' &&
    typeof o.ensureCommandEncoderReady === 'function' &&
    typeof o.submitQueue === 'function' &&
    typeof o.convertAndCacheOnCPU === 'function'
  );
}

/**
 * Give a `WebGPUBackend` instance a `readSync` that works under Node (see the module comment).
 * Returns false (and changes nothing) when the object lacks the internals this relies on.
 */
export function patchReadSync(backend: unknown, usage: { COPY_DST: number; MAP_READ: number }, mapRead: number): boolean {
  if (!hasInternals(backend)) return false;
  const stock = backend.readSync.bind(backend);
  backend.readSync = function (dataId: object): tf.backend_util.BackendValues {
    const td = this.tensorMap.get(dataId);
    if (td.values != null || td.dtype === 'string' || td.dtype === 'complex64' || td.resource == null) return stock(dataId);
    const src = td.resource;
    const staging = this.bufferManager.acquireBuffer(src.size, usage.COPY_DST | usage.MAP_READ);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder!.copyBufferToBuffer(src, 0, staging, 0, src.size);
    this.submitQueue();
    mapReadSync(staging, mapRead);
    if (deviceError !== undefined) {
      const message = deviceError;
      deviceError = undefined;
      staging.unmap();
      this.bufferManager.releaseBuffer(staging);
      throw new PtflowError(`webgpu: the GPU device reported an error, so results are not valid: ${message}`);
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    const vals = tf.util.convertBackendValuesAndArrayBuffer(bytes, td.dtype) as tf.backend_util.TypedArray;
    return this.convertAndCacheOnCPU(dataId, vals);
  };
  return true;
}
