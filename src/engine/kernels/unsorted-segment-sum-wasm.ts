/**
 * `UnsortedSegmentSum` for the wasm backend, which has none (so `tf.gather`'s gradient, the
 * embedding's backward pass, fails there). Works on views of the wasm heap: no copies.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { asWasmBackend, heapView } from '../wasm/internals';
import { UNSORTED_SEGMENT_SUM, segmentSumGeometry, unsortedSegmentSumInto } from './unsorted-segment-sum';

const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = asWasmBackend(backend);
  const x = inputs['x'] as TensorInfo;
  const segmentIds = inputs['segmentIds'] as TensorInfo;
  const numSegments = (attrs as NamedAttrMap)['numSegments'] as number;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new PtflowError(`UnsortedSegmentSum (wasm): x [${x.shape}] has dtype ${x.dtype}; float32 or int32 expected`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new PtflowError(`UnsortedSegmentSum (wasm): segmentIds [${segmentIds.shape}] must be int32, got ${segmentIds.dtype}`);
  }
  const g = segmentSumGeometry(x.shape, segmentIds.shape, numSegments);
  const out = b.makeOutput(g.outShape, x.dtype);
  // Views after the malloc above: it may have grown (and replaced) the heap buffer.
  const outVals = heapView(b, out) as Float32Array | Int32Array;
  outVals.fill(0);
  unsortedSegmentSumInto(heapView(b, x) as Float32Array | Int32Array, heapView(b, segmentIds) as Int32Array, g, outVals);
  return out;
};

export const unsortedSegmentSumWasmConfig: KernelConfig = {
  kernelName: UNSORTED_SEGMENT_SUM,
  backendName: 'wasm',
  kernelFunc,
};
