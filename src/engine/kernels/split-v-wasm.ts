/**
 * `SplitV` (tf.split) for the wasm backend: the stock kernel slices with the stock Slice, which
 * copies the whole input out of the heap per output. Here each output is one heap-to-heap slice.
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasmBackend } from '../wasm/internals';
import { heapSliceable, sliceOnHeap } from './slice-wasm';
import { stockKernel } from './stock';

export const SPLIT_V = 'SplitV';

const kernelFunc: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const x = inputs['x'] as TensorInfo;
  if (!heapSliceable(x.dtype)) return stockKernel(SPLIT_V, 'wasm', `dtype ${x.dtype}`)(args);
  const b = asWasmBackend(backend);
  const a = attrs as NamedAttrMap;
  const axis = util.parseAxisParam(a['axis'] as number, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as unknown as Tensor, a['numOrSizeSplits'] as number[] | number, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const out = sliceOnHeap(b, x, begin, size);
    begin[axis] += s;
    return out;
  });
};

export const splitVWasmConfig: KernelConfig = { kernelName: SPLIT_V, backendName: 'wasm', kernelFunc };
