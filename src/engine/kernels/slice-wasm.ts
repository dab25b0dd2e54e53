/**
 * `Slice` for the wasm backend without the stock kernel's copy of the whole input out of the heap
 * (`readSync` on every call: slicing 32 heads out of a 1 MB activation copies 32 MB). Copies only
 * the selected elements, heap to heap, in runs as long as the slice allows (all trailing axes
 * taken whole are merged into one run). String tensors go to the stock kernel.
 * The stock Unpack and SplitV call the stock slice directly, so they are replaced too
 * (unpack-wasm.ts, split-v-wasm.ts).
 */
import { slice_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { asWasmBackend, heapBuffer, type WasmBackend } from '../wasm/internals';
import { stockKernel } from './stock';

export const SLICE = 'Slice';

/**
 * Copy plan for slicing `shape` at `begin` with `size`: `runs` contiguous runs of `runLength`
 * elements; `sourceStart(k)` is the flat element offset in the input of the k-th run (runs are
 * in output order and packed in the output).
 */
export interface SlicePlan {
  runs: number;
  runLength: number;
  sourceStart(k: number): number;
}

export function planSlice(shape: number[], begin: number[], size: number[]): SlicePlan {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  // Last axis not taken whole: the run covers it (from begin) and all axes after it.
  let k = rank - 1;
  while (k >= 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  if (k < 0) return { runs: 1, runLength: acc, sourceStart: () => 0 };
  const runLength = size[k] * strides[k];
  const outer = size.slice(0, k);
  const runs = outer.reduce((a, b) => a * b, 1);
  const base = begin[k] * strides[k];
  return {
    runs,
    runLength,
    sourceStart(idx: number): number {
      let off = base;
      for (let d = k - 1; d >= 0; d--) {
        const i = idx % outer[d];
        idx = (idx - i) / outer[d];
        off += (begin[d] + i) * strides[d];
      }
      return off;
    },
  };
}

const BYTES: Partial<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/** Whether `sliceOnHeap` handles this dtype (strings live outside the heap). */
export function heapSliceable(dtype: string): boolean {
  return BYTES[dtype] !== undefined;
}

/**
 * `x[begin : begin + size]` as a new tensor on the wasm heap (begin/size already resolved:
 * no −1). Also used by the Unpack and SplitV replacements.
 */
export function sliceOnHeap(b: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const bytes = BYTES[x.dtype];
  if (bytes === undefined) throw new PtflowError(`wasm heap slice: dtype ${x.dtype} of [${x.shape}] is not on the heap`);
  const out = b.makeOutput(size, x.dtype);
  const n = size.reduce((p, c) => p * c, 1);
  if (n === 0) return out;
  // Offsets read after the malloc above (which may have grown the heap).
  const heap = new Uint8Array(heapBuffer(b));
  const src = b.dataIdMap.get(x.dataId)!.memoryOffset;
  const dst = b.dataIdMap.get(out.dataId)!.memoryOffset;
  const plan = planSlice(x.shape, begin, size);
  const runBytes = plan.runLength * bytes;
  for (let r = 0; r < plan.runs; r++) {
    const s = src + plan.sourceStart(r) * bytes;
    heap.copyWithin(dst + r * runBytes, s, s + runBytes);
  }
  return out;
}

const kernelFunc: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'] as TensorInfo;
  if (!heapSliceable(x.dtype)) return stockKernel(SLICE, 'wasm', `dtype ${x.dtype}`)(args);
  const a = attrs as NamedAttrMap;
  const [begin, size] = slice_util.parseSliceParams(
    x as unknown as Parameters<typeof slice_util.parseSliceParams>[0],
    a['begin'] as number[],
    a['size'] as number[],
  );
  return sliceOnHeap(asWasmBackend(backend), x, begin, size);
};

export const sliceWasmConfig: KernelConfig = { kernelName: SLICE, backendName: 'wasm', kernelFunc };
