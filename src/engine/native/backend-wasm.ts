/**
 * Zero-copy access to tensors of tfjs-backend-wasm (4.22) for native kernels: tensors are
 * addressed by their heap offset (`dataIdMap.get(dataId).memoryOffset`) in the current heap
 * buffer, read only after the output was allocated (a malloc may grow, i.e. replace, the
 * heap). Works for ArrayBuffer and SharedArrayBuffer (threaded build) heaps.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import type { BackendAdapter } from './kernels';

interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array; wasmMemory?: { buffer: ArrayBufferLike } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

function asWasm(backend: unknown): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  if (b == null || b.wasm == null || b.dataIdMap == null || typeof b.makeOutput !== 'function') {
    throw new PtflowError('native kernels: backend is not tfjs-backend-wasm 4.x (wasm, dataIdMap, makeOutput missing)');
  }
  return b as WasmBackendLike;
}

let lastBuffer: ArrayBufferLike | undefined;
let lastView: Uint8Array | undefined;

/** A byte view of the current heap (cached until the heap is replaced). */
function heapView(b: WasmBackendLike): Uint8Array {
  const buf = b.wasm.wasmMemory?.buffer ?? b.wasm.HEAPU8.buffer;
  if (buf !== lastBuffer || lastView === undefined || lastView.byteLength !== buf.byteLength) {
    lastBuffer = buf;
    lastView = new Uint8Array(buf);
  }
  return lastView;
}

function offsetOf(b: WasmBackendLike, t: TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (d == null) throw new PtflowError(`native kernels: wasm tensor [${t.shape.join(',')}] has no data (disposed?)`);
  return d.memoryOffset;
}

export const wasmAdapter: BackendAdapter = {
  withOutput(backend, shape, inputs, compute) {
    const b = asWasm(backend);
    const out = b.makeOutput(shape, 'float32');
    const heap = heapView(b);
    compute(
      inputs.map((t) => ({ array: heap, byteOffset: offsetOf(b, t) })),
      { array: heap, byteOffset: offsetOf(b, out) },
    );
    return out;
  },
  withOutputs(backend, shapes, inputs, compute) {
    const b = asWasm(backend);
    const outs = shapes.map((shape) => b.makeOutput(shape, 'float32'));
    const heap = heapView(b);
    compute(
      inputs.map((t) => ({ array: heap, byteOffset: offsetOf(b, t) })),
      outs.map((o) => ({ array: heap, byteOffset: offsetOf(b, o) })),
    );
    return outs;
  },
  withInputs(backend, inputs, read) {
    const b = asWasm(backend);
    const heap = heapView(b);
    return read(inputs.map((t) => ({ array: heap, byteOffset: offsetOf(b, t) })));
  },
};
