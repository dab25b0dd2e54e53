/**
 * `Unpack` (tf.unstack) for the wasm backend: the stock kernel slices each output with the stock
 * Slice, which copies the whole input out of the heap every time (unstacking 32 attention heads
 * of a 1 MB activation copied 32 MB). Here each output is one heap-to-heap slice.
 */
import { util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasmBackend } from '../wasm/internals';
import { heapSliceable, sliceOnHeap } from './slice-wasm';
import { stockKernel } from './stock';

export const UNPACK = 'Unpack';

const kernelFunc: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const value = inputs['value'] as TensorInfo;
  if (!heapSliceable(value.dtype)) return stockKernel(UNPACK, 'wasm', `dtype ${value.dtype}`)(args);
  const b = asWasmBackend(backend);
  const axis = util.parseAxisParam((attrs as NamedAttrMap)['axis'] as number, value.shape)[0];
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const s = sliceOnHeap(b, value, begin, size);
    outs.push({ dataId: s.dataId, dtype: s.dtype, shape: outShape });
  }
  return outs;
};

export const unpackWasmConfig: KernelConfig = { kernelName: UNPACK, backendName: 'wasm', kernelFunc };
