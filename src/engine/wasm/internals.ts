/**
 * The parts of tfjs-backend-wasm's `BackendWasm` (4.22) that ptflow's kernels and thread
 * management use, typed once here so the rest of the code has no `any`. These are not public
 * tfjs API: they are checked at run time by `asWasmBackend`, which fails loudly if they move.
 */
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';

/** One worker of the emscripten pthread pool (a `worker_threads.Worker` in Node). */
export interface PthreadWorker {
  ref(): void;
  unref(): void;
  terminate(): unknown;
}

export interface EmscriptenPThread {
  unusedWorkers: PthreadWorker[];
  runningWorkers: PthreadWorker[];
  terminateAllThreads(): void;
}

export interface WasmModule {
  HEAPU8: Uint8Array;
  /** Present in the threaded build: the shared memory (its buffer is always current). */
  wasmMemory?: { buffer: ArrayBufferLike };
  PThread?: EmscriptenPThread;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  tfjs: { getThreadsCount(): number };
}

export interface WasmTensorData {
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
}

export interface WasmBackend extends KernelBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
}

/** Narrow a kernel's backend to the wasm internals, or throw naming what is missing. */
export function asWasmBackend(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (
    b == null ||
    typeof b !== 'object' ||
    b.wasm == null ||
    typeof b.wasm._malloc !== 'function' ||
    b.dataIdMap == null ||
    typeof b.makeOutput !== 'function'
  ) {
    throw new PtflowError(
      'tfjs-backend-wasm internals (wasm, dataIdMap, makeOutput) not found: ' +
        'this ptflow build expects @tensorflow/tfjs-backend-wasm 4.22',
    );
  }
  return b as WasmBackend;
}

/** The current heap buffer (after any growth; views taken before a malloc may be stale). */
export function heapBuffer(backend: WasmBackend): ArrayBufferLike {
  const m = backend.wasm;
  return m.wasmMemory != null ? m.wasmMemory.buffer : m.HEAPU8.buffer;
}

export type HeapArray = Float32Array | Int32Array | Uint8Array;

/** A view (no copy) of a tensor's data on the wasm heap. Take it after the last malloc. */
export function heapView(backend: WasmBackend, t: TensorInfo): HeapArray {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) throw new PtflowError(`wasm tensor ${t.shape.join('x')} has no data (disposed?)`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  const buf = heapBuffer(backend);
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(buf, data.memoryOffset, size);
    case 'int32':
      return new Int32Array(buf, data.memoryOffset, size);
    case 'bool':
      return new Uint8Array(buf, data.memoryOffset, size);
    default:
      throw new PtflowError(`wasm heap view: unsupported dtype ${t.dtype} (tensor ${t.shape.join('x')})`);
  }
}
