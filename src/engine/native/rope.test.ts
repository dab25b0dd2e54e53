/**
 * The native RoPE kernel against ptflow's stock op (ops/rope.ts with the native op forms off)
 * on the cpu and wasm backends: HF tables and arbitrary tables (halves not repeated), value and
 * gradient; bad shapes; declining without the addon.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import { applyRope, ropeTables } from '../ops/rope';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { randomFloat32, relativeError } from './reference';
import { nativeRope } from './rope';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

type Tables = (n: number, d: number) => { cos: tf.Tensor3D; sin: tf.Tensor3D };

const hf: Tables = (n, d) => ropeTables(Array.from({ length: n }, (_, i) => (i * 7) % 50), d, 10000);
const arbitrary: Tables = (n, d) => ({
  cos: tf.tensor3d(randomFloat32(n * d, 11), [n, 1, d]),
  sin: tf.tensor3d(randomFloat32(n * d, 12), [n, 1, d]),
});

/** y and dx of Σ w ⊙ applyRope(x). */
function evaluate(n: number, heads: number, d: number, tables: Tables): Float32Array[] {
  return tf.tidy(() => {
    const { cos, sin } = tables(n, d);
    const x = tf.tensor3d(randomFloat32(n * heads * d, 1), [n, heads, d]);
    const w = tf.tensor3d(randomFloat32(n * heads * d, 2), [n, heads, d]);
    const y = applyRope(x, cos, sin).dataSync() as Float32Array;
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(applyRope(a as tf.Tensor3D, cos, sin), w)))(x).dataSync() as Float32Array;
    return [Float32Array.from(y), Float32Array.from(dx)];
  });
}

describe.each(['cpu', 'wasm'] as const)('native RoPE on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);
  afterEach(() => jest.restoreAllMocks());

  test.each([
    ['HF tables', 1, 1, 2, hf],
    ['HF tables', 37, 3, 8, hf],
    ['arbitrary tables', 19, 2, 6, arbitrary],
    ['HF tables', 256, 4, 64, hf],
  ] as Array<[string, number, number, number, Tables]>)('%s, n %d, heads %d, d %d: matches the stock op', (_name, n, heads, d, tables) => {
    const kernel = jest.spyOn(addon, 'rope');
    setNativeOpsEnabled(true);
    const native = evaluate(n, heads, d, tables);
    expect(kernel).toHaveBeenCalledTimes(3); // value; forward and backward under tf.grad
    setNativeOpsEnabled(false);
    const stock = evaluate(n, heads, d, tables);
    setNativeOpsEnabled(true);
    native.forEach((v, i) => expect(relativeError(v, stock[i])).toBeLessThan(1e-6));
  });

  test.each([
    ['HF tables', 512, 3, 64, hf],
    ['arbitrary tables', 700, 2, 50, arbitrary],
  ] as Array<[string, number, number, number, Tables]>)('%s, n %d, heads %d, d %d (threaded over positions): 2 threads give bitwise the one-thread values', (_name, n, heads, d, tables) => {
    const threads = addon.getNumThreads();
    try {
      addon.setNumThreads(1);
      const one = evaluate(n, heads, d, tables);
      addon.setNumThreads(2);
      const two = evaluate(n, heads, d, tables);
      two.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(one[i].buffer))).toBe(true));
    } finally {
      addon.setNumThreads(threads);
    }
  });

  test('subnormal inputs stay subnormal on every thread (as on the calling thread)', () => {
    // cos 1, sin 0: y = x exactly, also for x = 2⁻¹⁴⁰ (a float32 subnormal that flush-to-zero would zero).
    const [n, heads, d] = [512, 4, 64];
    const threads = addon.getNumThreads();
    addon.setNumThreads(2);
    try {
      const y = tf.tidy(() => {
        const x = tf.fill([n, heads, d], Math.pow(2, -140)) as tf.Tensor3D;
        const cos = tf.ones([n, 1, d]) as tf.Tensor3D;
        const sin = tf.zeros([n, 1, d]) as tf.Tensor3D;
        return (nativeRope(x, cos, sin) as tf.Tensor).dataSync() as Float32Array;
      });
      expect(y.every((v) => v === Math.fround(Math.pow(2, -140)))).toBe(true);
    } finally {
      addon.setNumThreads(threads);
    }
  });

  test('bad shapes are PtflowErrors', () => {
    const x = tf.zeros([4, 2, 6]) as tf.Tensor3D;
    const t = tf.zeros([4, 1, 6]) as tf.Tensor3D;
    expect(() => nativeRope(x, t, tf.zeros([3, 1, 6]) as tf.Tensor3D)).toThrow(PtflowError);
    expect(() => nativeRope(tf.zeros([4, 2, 5]) as tf.Tensor3D, t, t)).toThrow(/even last axis/);
  });
});

test('without the addon: null (the op keeps its stock path)', async () => {
  await tf.setBackend('cpu');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
  try {
    const t = tf.zeros([2, 1, 4]) as tf.Tensor3D;
    expect(nativeRope(tf.zeros([2, 3, 4]) as tf.Tensor3D, t, t)).toBeNull();
  } finally {
    resetNativeAddon();
    jest.restoreAllMocks();
  }
});
