/**
 * `AddN` (tf.addN) for the webgpu backend: sums in chunks that fit the device's storage-buffer
 * limit. The stock kernel binds every input as its own storage buffer in one shader; WebGPU's
 * default limit is 8 per shader stage (7 inputs and the output), and tfjs-backend-webgpu does not
 * raise it, so the global gradient norm (one term per parameter tensor) failed validation there
 * and silently yielded a wrong value.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel } from '../kernels/stock';

interface WebgpuBackendLike {
  device?: { limits?: { maxStorageBuffersPerShaderStage?: number } };
  disposeData(dataId: object): boolean;
}

/** Inputs one stock AddN may take on `backend` (its storage-buffer limit less the output). */
export function addNChunk(backend: unknown): number {
  const limit = (backend as WebgpuBackendLike).device?.limits?.maxStorageBuffersPerShaderStage;
  return Math.max(2, (typeof limit === 'number' ? limit : 8) - 1);
}

const addNChunked: KernelFunc = (args) => {
  const stock = stockKernel('AddN', 'webgpu', 'AddN');
  const backend = args.backend as unknown as WebgpuBackendLike;
  const max = addNChunk(args.backend);
  let items = args.inputs as unknown as TensorInfo[];
  const temps: TensorInfo[] = [];
  while (items.length > max) {
    const next: TensorInfo[] = [];
    for (let i = 0; i < items.length; i += max) {
      const chunk = items.slice(i, i + max);
      if (chunk.length === 1) {
        next.push(chunk[0]);
        continue;
      }
      const partial = stock({ ...args, inputs: chunk as unknown as typeof args.inputs }) as TensorInfo;
      temps.push(partial);
      next.push(partial);
    }
    items = next;
  }
  const out = stock({ ...args, inputs: items as unknown as typeof args.inputs }) as TensorInfo;
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
};

export const addNWebgpuConfig: KernelConfig = { kernelName: 'AddN', backendName: 'webgpu', kernelFunc: addNChunked };
