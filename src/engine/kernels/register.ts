/**
 * Registers ptflow's kernels for a backend: the ones it lacks and the ones it does
 * pathologically slowly. Called by `initBackend` once the backend is set. A kernel that replaces
 * a stock one unregisters it first (tfjs would otherwise warn and overwrite). Idempotent.
 *
 * | backend | kernel             | why |
 * |---------|--------------------|-----|
 * | wasm    | UnsortedSegmentSum | missing: the gradient of tf.gather (embedding) fails |
 * | wasm    | Slice              | stock copies the whole input out of the heap per call |
 * | wasm    | Unpack, SplitV     | stock ones call that stock Slice once per output |
 * | wasm    | Transpose          | stock 2-D transpose is cache-unfriendly (3× slower on big ones) |
 * | wasm    | Identity           | stock copies: every tensor saved for the backward pass (each linear's weight too) was a copy |
 * | wasm    | Add, Sub, Multiply, RealDiv | stock runs on one thread; large whole/scalar ones go to the addon on every core (elementwise-wasm.ts) |
 * | wasm, cpu | GatherV2 (axis 0) | stock computes each element's source index generically (50–150 ms per embedding lookup) |
 * | cpu     | UnsortedSegmentSum | stock is O(numSegments × size): 44 s / 8.8 GB per embedding grad |
 * | cpu     | Add, Sub, Multiply, RealDiv, Sigmoid, Square, Neg, Sqrt, Exp, AddN | stock calls a shared closure per element (elementwise-cpu.ts) |
 * | webgpu  | AddN               | stock binds every input at once: more than 7 fail WebGPU's default limit |
 *
 * The sharing Identity, together with custom gradients running in their own tidy scope
 * (ops/custom-op.ts), took the reference step's wasm heap from 526 MiB to 306 MiB (peak live
 * tensors 253 MiB, as memory/estimate.ts predicts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { installCpuBufferPool } from './cpu-buffer-pool';
import { elementwiseCpuConfigs } from './elementwise-cpu';
import { elementwiseWasmConfigs } from './elementwise-wasm';
import { gatherRowsCpuConfig, gatherRowsWasmConfig } from './gather-rows';
import { identityWasmConfig } from './identity-wasm';
import { sliceWasmConfig } from './slice-wasm';
import { splitVWasmConfig } from './split-v-wasm';
import { keepStockKernel } from './stock';
import { transposeWasmConfig } from './transpose-wasm';
import { unpackWasmConfig } from './unpack-wasm';
import { unsortedSegmentSumCpuConfig } from './unsorted-segment-sum-cpu';
import { unsortedSegmentSumWasmConfig } from './unsorted-segment-sum-wasm';
import { addNWebgpuConfig } from '../webgpu/add-n';

export type KernelBackendName = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu';

export function kernelsFor(backend: KernelBackendName): KernelConfig[] {
  switch (backend) {
    case 'wasm':
      return [
        unsortedSegmentSumWasmConfig,
        sliceWasmConfig,
        unpackWasmConfig,
        splitVWasmConfig,
        transposeWasmConfig,
        identityWasmConfig,
        gatherRowsWasmConfig,
        ...elementwiseWasmConfigs,
      ];
    case 'cpu':
      return [unsortedSegmentSumCpuConfig, gatherRowsCpuConfig, ...elementwiseCpuConfigs];
    case 'webgpu':
      return [addNWebgpuConfig];
    case 'tensorflow':
      return [];
  }
}

/** Register (or re-register) ptflow's kernels for `backend`; returns the kernel names. */
export function registerPtflowKernels(backend: KernelBackendName): string[] {
  const names: string[] = [];
  // The cpu kernels' outputs come from a pool of freed buffers (cpu-buffer-pool.ts).
  if (backend === 'cpu') installCpuBufferPool(tf.findBackend('cpu'));
  for (const config of kernelsFor(backend)) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc !== config.kernelFunc) {
      if (existing != null) {
        keepStockKernel(`${config.backendName}/${config.kernelName}`, existing.kernelFunc);
        tf.unregisterKernel(config.kernelName, config.backendName);
      }
      tf.registerKernel(config);
    }
    names.push(config.kernelName);
  }
  return names;
}
