// Hooks shared by the native-kernel test suites: on `backend`, the addon's kernels are registered
// (and must take effect) before the suite, and the stock kernels and op forms are back after it.
import * as tf from '@tensorflow/tfjs-core';
import { setNativeOpsEnabled } from '../src/engine/native/active';
import { registerNativeKernels, restoreStockKernels, type NativeBackendName } from '../src/engine/native/register';

export function useNativeKernels(backend: NativeBackendName): void {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    expect(registerNativeKernels(backend).active).toBe(true);
  });
  afterAll(() => {
    setNativeOpsEnabled(true);
    restoreStockKernels(backend);
  });
}
