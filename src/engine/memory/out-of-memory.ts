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
  HEAPU8: Uint8Array;
  wasmMemory?: { buffer: ArrayBufferLike };
  ptflowMallocGuard?: boolean;
}

/** The wasm backend's heap can address at most this many bytes (emscripten's 4 GiB − 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

/** Make the wasm module's `_malloc` throw `OutOfMemoryError` instead of returning 0. Idempotent. */
export function guardWasmAllocations(wasm: MallocModule): void {
  if (wasm.ptflowMallocGuard) return;
  // emscripten binds `_malloc` lazily: its first call replaces `Module._malloc` with the raw
  // export. A setter keeps whatever is assigned later behind the check as well.
  let malloc = wasm._malloc;
  const guarded = (bytes: number): number => {
    const p = malloc.call(wasm, bytes);
    if (p === 0) {
      const held = (wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer).byteLength;
      throw new OutOfMemoryError(
        bytes,
        held,
        `out of memory: the wasm heap (${fmtBytes(held)} in use, at most ${fmtBytes(WASM_HEAP_MAX_BYTES)}) ` +
          `cannot hold another ${fmtBytes(bytes)}`,
      );
    }
    return p;
  };
  Object.defineProperty(wasm, '_malloc', {
    configurable: true,
    enumerable: true,
    get: () => guarded,
    set: (f: (bytes: number) => number) => {
      if (f !== guarded) malloc = f;
    },
  });
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
