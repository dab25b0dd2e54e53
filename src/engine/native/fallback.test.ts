/**
 * Without the addon (not built, or PTFLOW_NATIVE=0) ptflow keeps the stock kernels, says why
 * once, and matmul still works.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { nativeStatus, registerNativeKernels, resetNativeAddon, restoreStockKernels, setNativeThreads } from './index';

describe('native kernels fallback', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterEach(() => {
    delete process.env['PTFLOW_NATIVE'];
    resetNativeAddon();
    restoreStockKernels('cpu');
    jest.restoreAllMocks();
  });

  test('addon missing: inactive with a reason, said once on stderr, stock kernel kept', () => {
    const stockFn = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;
    resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
    const lines: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const r1 = registerNativeKernels('cpu');
    const r2 = registerNativeKernels('cpu');
    expect(r1.active).toBe(false);
    expect(r1.reason).toMatch(/not built.*nonexistent/);
    expect(r2).toEqual(r1);
    expect(lines.filter((l) => l.includes('native kernels unavailable'))).toHaveLength(1);
    expect(tf.getKernel('BatchMatMul', 'cpu').kernelFunc).toBe(stockFn);
    expect(nativeStatus()).toEqual({ active: false, reason: r1.reason, backends: [] });
    expect(setNativeThreads(2)).toBe(false);
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
    expect(Array.from(y.dataSync())).toEqual([19, 22, 43, 50]);
  });

  test('PTFLOW_NATIVE=0: disabled quietly', () => {
    process.env['PTFLOW_NATIVE'] = '0';
    resetNativeAddon();
    const write = jest.spyOn(process.stderr, 'write');
    const stockFn = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;
    expect(registerNativeKernels('cpu')).toEqual({ active: false, reason: 'disabled (PTFLOW_NATIVE=0)' });
    expect(write).not.toHaveBeenCalled();
    expect(tf.getKernel('BatchMatMul', 'cpu').kernelFunc).toBe(stockFn);
  });

  test('with the addon: active, restorable', () => {
    const stockFn = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;
    const r = registerNativeKernels('cpu');
    expect(r.active).toBe(true);
    expect(nativeStatus()).toMatchObject({ active: true, isa: r.isa, backends: ['cpu'] });
    expect(tf.getKernel('BatchMatMul', 'cpu').kernelFunc).not.toBe(stockFn);
    restoreStockKernels('cpu');
    expect(tf.getKernel('BatchMatMul', 'cpu').kernelFunc).toBe(stockFn);
    expect(nativeStatus().backends).toEqual([]);
  });

  test('unknown backend name is refused, not thrown', () => {
    expect(registerNativeKernels('webgl' as 'cpu')).toMatchObject({ active: false });
  });
});
