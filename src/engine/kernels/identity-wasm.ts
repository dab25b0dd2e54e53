/**
 * wasm `Identity` (what `tf.clone` and every tensor saved for the backward pass run) sharing the
 * input's memory, as the cpu backend's does, instead of copying it: a training step no longer
 * holds a copy of every saved activation and every weight a linear layer saves. Safe because
 * nothing writes a tensor's memory after it is made (`Variable.assign` swaps the data id).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel } from './stock';

interface RefCounting {
  incRef(dataId: object): void;
}

const identityShared: KernelFunc = (args) => {
  const x = (args.inputs as { x: TensorInfo }).x;
  if (x.dtype === 'string') {
    return stockKernel('Identity', 'wasm', 'string tensors are copied')(args);
  }
  (args.backend as unknown as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityWasmConfig: KernelConfig = { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identityShared };
