/**
 * The native sum of squares behind the global gradient norm: bitwise equal to a float64
 * reimplementation of its fixed order (native/src/sumsq.h) on the cpu and wasm backends, the same
 * for 1 and 2 threads, close to the stock float32 composite, subnormals counted, non-finite
 * gradients reported; globalNorm takes it only where the native op forms are active.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { globalNorm } from '../optim/clip';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon } from './addon';
import { randomFloat32 } from './reference';
import { nativeSumOfSquares } from './sum-squares';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

const BLOCK = 16384;
const LANES = 16;

/** The documented order, written out in float64: lanes within blocks, blocks in order. */
function referenceSumSquares(x: Float32Array): number {
  let total = 0;
  for (let b0 = 0; b0 < x.length; b0 += BLOCK) {
    const len = Math.min(BLOCK, x.length - b0);
    const acc = new Float64Array(LANES);
    let i = 0;
    for (; i + LANES <= len; i += LANES) for (let l = 0; l < LANES; l++) acc[l] += x[b0 + i + l] * x[b0 + i + l];
    let s = 0;
    for (let l = 0; l < LANES; l++) s += acc[l];
    for (; i < len; i++) s += x[b0 + i] * x[b0 + i];
    total += s;
  }
  return total;
}

/** Values over many orders of magnitude (so the summation order shows in the last bits). */
function spread(n: number, seed: number): Float32Array {
  const u = randomFloat32(n, seed);
  const e = randomFloat32(n, seed + 1);
  return Float32Array.from(u, (v, i) => v * Math.pow(10, Math.round(6 * e[i])));
}

describe.each(['cpu', 'wasm'] as const)('native sum of squares on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);

  const withThreads = <T>(n: number, f: () => T): T => {
    const before = addon.getNumThreads();
    addon.setNumThreads(n);
    try {
      return f();
    } finally {
      addon.setNumThreads(before);
    }
  };

  test.each([0, 1, 15, 16, 17, BLOCK, BLOCK + 1, 3 * BLOCK + 77])('n %d: the fixed order bit for bit, 1 and 2 threads', (n) => {
    const x = spread(n, n + 3);
    const t = tf.tensor1d(x);
    try {
      const ref = referenceSumSquares(x);
      const one = withThreads(1, () => nativeSumOfSquares([t]));
      const two = withThreads(2, () => nativeSumOfSquares([t]));
      expect(one).toBe(ref);
      expect(two).toBe(ref);
    } finally {
      t.dispose();
    }
  });

  test('several tensors: their sums added in order; as accurate as a sequential float64 sum', () => {
    const xs = [spread(5 * BLOCK + 3, 1), spread(576, 2), spread(2 * BLOCK, 3)];
    const ts = xs.map((x, i) => tf.tensor2d(x, [x.length / [1, 576, 64][i], [1, 576, 64][i]]));
    try {
      const got = withThreads(2, () => nativeSumOfSquares(ts)) as number;
      expect(got).toBe(xs.reduce((a, x) => a + referenceSumSquares(x), 0));
      let sequential = 0;
      for (const x of xs) for (const v of x) sequential += v * v;
      expect(Math.abs(got - sequential)).toBeLessThan(1e-12 * sequential);
    } finally {
      ts.forEach((t) => t.dispose());
    }
  });

  test('subnormal values count on every thread (IEEE mode on the workers too)', () => {
    // 2⁻¹⁴⁰ is a float32 subnormal; its square is a normal float64.
    const x = new Float32Array(4 * BLOCK).fill(Math.pow(2, -140));
    const t = tf.tensor1d(x);
    try {
      const two = withThreads(2, () => nativeSumOfSquares([t]));
      expect(two).toBe(4 * BLOCK * Math.pow(2, -280));
    } finally {
      t.dispose();
    }
  });

  test('a non-finite gradient makes the sum non-finite', () => {
    const x = spread(3 * BLOCK, 9);
    x[2 * BLOCK + 5] = Infinity;
    const inf = tf.tensor1d(Float32Array.from(x));
    x[2 * BLOCK + 5] = NaN;
    const nan = tf.tensor1d(Float32Array.from(x));
    try {
      expect(withThreads(2, () => nativeSumOfSquares([inf]))).toBe(Infinity);
      expect(withThreads(2, () => nativeSumOfSquares([nan]))).toBeNaN();
    } finally {
      inf.dispose();
      nan.dispose();
    }
  });

  test('globalNorm: native while the op forms are on, the stock composite when off', () => {
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor2d(randomFloat32(300 * 64, 4), [300, 64])],
      ['b', tf.tensor1d(randomFloat32(64, 5))],
    ]);
    const sumSquares = jest.spyOn(addon, 'sumSquares');
    try {
      const native = globalNorm(grads);
      expect(sumSquares).toHaveBeenCalledTimes(2);
      const expected = [...grads.values()].reduce((a, g) => a + referenceSumSquares(g.dataSync() as Float32Array), 0);
      expect(native).toBe(Math.fround(Math.sqrt(expected)));
      setNativeOpsEnabled(false);
      const stock = globalNorm(grads);
      expect(sumSquares).toHaveBeenCalledTimes(2);
      // The stock composite sums in float32 (on wasm), hence the float32-sized tolerance.
      expect(Math.abs(native - stock)).toBeLessThan(1e-5 * stock);
    } finally {
      setNativeOpsEnabled(true);
      sumSquares.mockRestore();
      grads.forEach((g) => g.dispose());
    }
  });

  test('int32 tensors decline (null)', () => {
    const t = tf.tensor1d([1, 2, 3], 'int32');
    expect(nativeSumOfSquares([t])).toBeNull();
    t.dispose();
  });
});
