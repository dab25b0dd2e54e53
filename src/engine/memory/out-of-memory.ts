/**
 * Allocation failures as errors, never as a spin.
 *
 * tfjs-backend-wasm 4.22 allocates every tensor with the heap's `malloc` and uses the offset it
 * returns unchecked. When the heap cannot grow (it addresses at most 4 GiB), `malloc` returns 0:
 * the tensor is then written over the heap's own first bytes (malloc's state), and the next
 * allocation loops forever in the corrupted free lists — a step that never ends, at 100 % of one
 * core. `guardWasmAllocations` makes such a `malloc` throw `OutOfMemoryError` before anything is
 * written. On the cpu backend a failed allocation is V8's `RangeError` ("Array buffer allocation
 * failed"); `asOutOfMemory` recognises both so the training step can name itself in the error.
 */
import { PtflowError } from '../../errors';
import { WASM_HEAP_LIMIT_ENV, WASM_HEAP_MAX_BYTES, wasmHeapLimitBytes } from './heap-limit';

export { WASM_HEAP_MAX_BYTES } from './heap-limit';

export class OutOfMemoryError extends PtflowError {
  constructor(
    /** Bytes the failed allocation asked for (0 when unknown). */
    readonly requestedBytes: number,
    /** Bytes the backend held when it failed (the wasm heap size; 0 when unknown). */
    readonly heldBytes: number,
    message: string,
  ) {
    super(message, 1);
    this.name = 'OutOfMemoryError';
  }
}

const MiB = 1024 * 1024;
export function fmtBytes(b: number): string {
  if (b >= 1024 * MiB) return `${(b / (1024 * MiB)).toFixed(2)} GiB`;
  if (b >= MiB) return `${(b / MiB).toFixed(1)} MiB`;
  return b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} bytes`;
}

interface MallocModule {
  _malloc(bytes: number): number;
  _free?(ptr: number): void;
  HEAPU8: Uint8Array;
  wasmMemory?: { buffer: ArrayBufferLike };
  ptflowMallocGuard?: boolean;
}

/** Bytes of the wasm heap held by live allocations now, and the most since the last reset. */
export interface HeapUsage {
  inUse: number;
  peak: number;
}

const usage = { inUse: 0, peak: 0 };
/** Bytes of tensors the guarded heap may hold (heap-limit.ts; read when the guard is installed). */
let limit = WASM_HEAP_MAX_BYTES;
const sizes = new Map<number, number>();

/** Live and peak bytes allocated through the guarded `malloc` (tensors of the wasm backend). */
export function wasmHeapUsage(): HeapUsage {
  return { ...usage };
}

/** Start a new peak at the bytes in use now. */
export function resetWasmHeapPeak(): void {
  usage.peak = usage.inUse;
}

/** `name` of `wasm` through `wrap`, also when emscripten rebinds it (see below). */
function intercept<F extends (...a: number[]) => unknown>(wasm: object, name: string, wrap: (inner: () => F) => F): void {
  let inner = (wasm as Record<string, F>)[name];
  const wrapped = wrap(() => inner);
  Object.defineProperty(wasm, name, {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set: (f: F) => {
      if (f !== wrapped) inner = f;
    },
  });
}

/**
 * Make the wasm module's `_malloc` throw `OutOfMemoryError` instead of returning 0, and count
 * the bytes it hands out (`wasmHeapUsage`); with `PTFLOW_WASM_HEAP_LIMIT` set (heap-limit.ts), an
 * allocation that would take the tensors past it throws too. Idempotent. emscripten binds `_malloc` lazily (its
 * first call replaces `Module._malloc` with the raw export): a setter keeps whatever is assigned
 * later behind the check.
 */
export function guardWasmAllocations(wasm: MallocModule): void {
  limit = wasmHeapLimitBytes();
  if (wasm.ptflowMallocGuard) return;
  intercept<(bytes: number) => number>(wasm, '_malloc', (inner) => (bytes: number): number => {
    if (limit < WASM_HEAP_MAX_BYTES && usage.inUse + bytes > limit) {
      throw new OutOfMemoryError(
        bytes,
        usage.inUse,
        `out of memory: the wasm heap (${fmtBytes(usage.inUse)} of tensors, at most ${fmtBytes(limit)} by ${WASM_HEAP_LIMIT_ENV}) ` +
          `cannot hold another ${fmtBytes(bytes)}`,
      );
    }
    const p = inner().call(wasm, bytes);
    if (p === 0) {
      const held = (wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer).byteLength;
      throw new OutOfMemoryError(
        bytes,
        held,
        `out of memory: the wasm heap (${fmtBytes(held)} in use, at most ${fmtBytes(WASM_HEAP_MAX_BYTES)}) ` +
          `cannot hold another ${fmtBytes(bytes)}`,
      );
    }
    // Offsets above 2 GiB come back negative (int32); tfjs frees them as unsigned (`>>> 0`).
    sizes.set(p >>> 0, bytes);
    usage.inUse += bytes;
    if (usage.inUse > usage.peak) usage.peak = usage.inUse;
    return p;
  });
  if (typeof wasm._free === 'function') {
    intercept<(ptr: number) => void>(wasm, '_free', (inner) => (ptr: number): void => {
      const n = sizes.get(ptr >>> 0);
      if (n !== undefined) {
        usage.inUse -= n;
        sizes.delete(ptr >>> 0);
      }
      inner().call(wasm, ptr);
    });
  }
  wasm.ptflowMallocGuard = true;
}

/** `e` as an OutOfMemoryError when it is one (wasm guard, or V8 failing to allocate an array). */
export function asOutOfMemory(e: unknown): OutOfMemoryError | null {
  if (e instanceof OutOfMemoryError) return e;
  if (e instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer allocation/i.test(e.message)) {
    return new OutOfMemoryError(0, 0, `out of memory: ${e.message}`);
  }
  return null;
}
