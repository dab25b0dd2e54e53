/**
 * The stock kernels that ptflow's replacements displaced, kept for the inputs the replacements do
 * not handle (string tensors). Filled by register.ts when it unregisters a stock kernel.
 */
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';

const stock = new Map<string, KernelFunc>();

export function keepStockKernel(key: string, k: KernelFunc): void {
  stock.set(key, k);
}

/** The stock kernel `name` for `backend`, or an error naming what was not supported. */
export function stockKernel(name: string, backend: string, why: string): KernelFunc {
  const k = stock.get(`${backend}/${name}`);
  if (k == null) throw new PtflowError(`${name} (${backend}): ${why}, and no stock kernel to fall back to`);
  return k;
}
