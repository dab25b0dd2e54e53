/**
 * The fused native RMSNorm against ptflow's stock op (ops/rmsnorm.ts with the native op forms
 * off) and central finite differences, on the cpu and wasm backends: odd sizes, trainable and
 * frozen weight, every instruction-set path, bad shapes, declining without the addon.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import { rmsNorm } from '../ops/rmsnorm';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { nativeRmsNorm } from './rmsnorm';
import { randomFloat32, relativeError } from './reference';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

const EPS = 1e-6;

/** y, dx, dw of Σ c ⊙ rmsNorm(x, w) (dw absent when frozen). */
function evaluate(n: number, d: number, trainable: boolean, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor2d(randomFloat32(n * d, seed).map((v) => 3 * v), [n, d]);
    const w = tf.tensor1d(randomFloat32(d, seed + 1).map((v) => 1 + 0.5 * v));
    const c = tf.tensor2d(randomFloat32(n * d, seed + 2), [n, d]);
    const y = rmsNorm(x, w, EPS, trainable).dataSync() as Float32Array;
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, EPS, trainable), c));
    const grads = trainable ? tf.grads(f)([x, w]) : [tf.grad((a: tf.Tensor) => f(a, w))(x)];
    return [Float32Array.from(y), ...grads.map((g) => Float32Array.from(g.dataSync() as Float32Array))];
  });
}

describe.each(['cpu', 'wasm'] as const)('native RMSNorm on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);
  afterEach(() => jest.restoreAllMocks());

  test.each([
    [1, 3, true],
    [7, 33, true],
    [33, 129, false],
    [100, 256, true],
    [300, 256, true], // from 64k elements: threaded
  ])('n %d, d %d, trainable %s: matches the stock op', (n, d, trainable) => {
    const bwd = jest.spyOn(addon, 'rmsnormBackward');
    setNativeOpsEnabled(true);
    const native = evaluate(n, d, trainable, n + d);
    expect(bwd).toHaveBeenCalledTimes(1);
    setNativeOpsEnabled(false);
    const stock = evaluate(n, d, trainable, n + d);
    setNativeOpsEnabled(true);
    expect(native.length).toBe(trainable ? 3 : 2);
    native.forEach((v, i) => expect(relativeError(v, stock[i])).toBeLessThan(1e-5));
  });

  test('gradients vs central finite differences of the native op', () => {
    const n = 3;
    const d = 5;
    const [, dx, dw] = evaluate(n, d, true, 17);
    const x0 = randomFloat32(n * d, 17).map((v) => 3 * v);
    const w0 = randomFloat32(d, 18).map((v) => 1 + 0.5 * v);
    const c = randomFloat32(n * d, 19);
    const loss = (x: Float32Array, w: Float32Array): number =>
      tf.tidy(() => {
        const y = (nativeRmsNorm(tf.tensor2d(x, [n, d]), tf.tensor1d(w), EPS) as tf.Tensor).dataSync();
        let s = 0;
        for (let i = 0; i < y.length; i++) s += c[i] * y[i];
        return s;
      });
    const fd = (base: Float32Array, at: (v: Float32Array) => number): Float64Array =>
      Float64Array.from(base, (_, i) => {
        const up = Float32Array.from(base);
        const down = Float32Array.from(base);
        up[i] += 1e-2;
        down[i] -= 1e-2;
        return (at(up) - at(down)) / 2e-2;
      });
    expect(relativeError(dx, fd(x0, (v) => loss(v, w0)))).toBeLessThan(2e-3);
    expect(relativeError(dw, fd(w0, (v) => loss(x0, v)))).toBeLessThan(2e-3);
  });

  test('every instruction-set path gives the same result', () => {
    const isa = addon.info().isa;
    try {
      const runs = addon.info().available.map((name) => {
        expect(addon.setIsa(name)).toBe(true);
        return evaluate(9, 77, true, 5);
      });
      for (const r of runs.slice(1)) r.forEach((v, i) => expect(relativeError(v, runs[0][i])).toBeLessThan(1e-5));
    } finally {
      addon.setIsa(isa);
    }
  });

  test.each([
    [300, 256, true],
    [700, 100, true],
    [150, 577, true],
    [300, 256, false],
  ])('n %d, d %d, trainable %s (threaded): 2 threads give bitwise the one-thread values', (n, d, trainable) => {
    const threads = addon.getNumThreads();
    try {
      addon.setNumThreads(1);
      const one = evaluate(n, d, trainable, 3);
      addon.setNumThreads(2);
      const two = evaluate(n, d, trainable, 3);
      expect(two.length).toBe(trainable ? 3 : 2);
      two.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(one[i].buffer))).toBe(true));
    } finally {
      addon.setNumThreads(threads);
    }
  });

  test('bad shapes and eps are PtflowErrors', () => {
    const x = tf.zeros([4, 6]) as tf.Tensor2D;
    expect(() => nativeRmsNorm(x, tf.ones([5]) as tf.Tensor1D, EPS)).toThrow(PtflowError);
    expect(() => nativeRmsNorm(x, tf.ones([5]) as tf.Tensor1D, EPS)).toThrow(/\[4, 6\] and weight \[5\]/);
    expect(() => nativeRmsNorm(x, tf.ones([6]) as tf.Tensor1D, -1)).toThrow(/eps/);
  });
});

test('without the addon: null (the op keeps its stock path)', async () => {
  await tf.setBackend('cpu');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
  try {
    expect(nativeRmsNorm(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([3]) as tf.Tensor1D, EPS)).toBeNull();
  } finally {
    resetNativeAddon();
    jest.restoreAllMocks();
  }
});
