/**
 * The fused native SwiGLU gate against ptflow's stock op (ops/swiglu.ts with the native op forms
 * off), a float64 evaluation of the formula and central finite differences of it, on the cpu and
 * wasm backends: odd and threaded sizes, saturated gates, thread-count independence, what the
 * backward pass keeps, bad shapes, declining without the addon.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import { siluMul } from '../ops/swiglu';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { randomFloat32, relativeError } from './reference';
import { nativeSiluMul } from './swiglu';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

/** y, dg, du of Σ c ⊙ siluMul(g, u). */
function evaluate(g0: Float32Array, u0: Float32Array, c0: Float32Array, shape: [number, number]): Float32Array[] {
  return tf.tidy(() => {
    const g = tf.tensor2d(g0, shape);
    const u = tf.tensor2d(u0, shape);
    const c = tf.tensor2d(c0, shape);
    const y = siluMul(g, u).dataSync() as Float32Array;
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(siluMul(a as tf.Tensor2D, b as tf.Tensor2D), c)))([g, u]);
    return [Float32Array.from(y), ...grads.map((t) => Float32Array.from(t.dataSync() as Float32Array))];
  });
}

function inputs(n: number, seed: number): [Float32Array, Float32Array, Float32Array] {
  return [randomFloat32(n, seed).map((v) => 6 * v), randomFloat32(n, seed + 1).map((v) => 2 * v), randomFloat32(n, seed + 2)];
}

/** silu(g)·u in float64. */
const swiglu64 = (g: number, u: number): number => (g / (1 + Math.exp(-g))) * u;

describe.each(['cpu', 'wasm'] as const)('native SwiGLU on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);
  afterEach(() => jest.restoreAllMocks());

  // 256 × 257 elements run threaded (≥ 2¹⁶).
  test.each([
    [1, 1],
    [7, 33],
    [256, 257],
  ])('%d × %d: matches the stock op, value and gradients', (n, d) => {
    const [g, u, c] = inputs(n * d, n + d);
    const fwd = jest.spyOn(addon, 'swigluForward');
    const bwd = jest.spyOn(addon, 'swigluBackward');
    setNativeOpsEnabled(true);
    const native = evaluate(g, u, c, [n, d]);
    expect(fwd).toHaveBeenCalled();
    expect(bwd).toHaveBeenCalledTimes(1);
    fwd.mockClear();
    setNativeOpsEnabled(false);
    const stock = evaluate(g, u, c, [n, d]);
    setNativeOpsEnabled(true);
    expect(fwd).not.toHaveBeenCalled();
    native.forEach((v, i) => expect(relativeError(v, stock[i])).toBeLessThan(1e-5));
  });

  test('values against float64, gradients against central finite differences of float64', () => {
    const n = 4000;
    const [g, u, c] = inputs(n, 11);
    const [y, dg, du] = evaluate(g, u, c, [40, 100]);
    const h = 1e-6;
    for (let i = 0; i < n; i++) {
      expect(Math.abs(y[i] - swiglu64(g[i], u[i]))).toBeLessThan(1e-6 * (1 + Math.abs(swiglu64(g[i], u[i]))));
      const fdG = (c[i] * (swiglu64(g[i] + h, u[i]) - swiglu64(g[i] - h, u[i]))) / (2 * h);
      const fdU = (c[i] * (swiglu64(g[i], u[i] + h) - swiglu64(g[i], u[i] - h))) / (2 * h);
      expect(Math.abs(dg[i] - fdG)).toBeLessThan(1e-5 * (1 + Math.abs(fdG)));
      expect(Math.abs(du[i] - fdU)).toBeLessThan(1e-5 * (1 + Math.abs(fdU)));
    }
  });

  test('saturated gates: finite, silu(g) → g for large g and → 0 for very negative g', () => {
    const g = new Float32Array([-1e4, -200, -88, -87, -20, 0, 20, 88, 200, 1e4]);
    const u = new Float32Array(g.length).fill(1);
    const [y, dg, du] = evaluate(g, u, new Float32Array(g.length).fill(1), [1, g.length]);
    for (const t of [y, dg, du]) for (const v of t) expect(Number.isFinite(v)).toBe(true);
    for (let i = 0; i < g.length; i++) {
      expect(Math.abs(y[i] - swiglu64(g[i], 1))).toBeLessThan(1e-6 * (1 + Math.abs(g[i])));
      if (g[i] >= 20) expect(dg[i]).toBeCloseTo(1, 6);
      if (g[i] <= -88) expect(Math.abs(dg[i])).toBeLessThan(1e-30);
    }
  });

  test('results do not depend on the thread count', () => {
    const [g, u, c] = inputs(256 * 257, 5);
    const threads = addon.getNumThreads();
    try {
      addon.setNumThreads(1);
      const one = evaluate(g, u, c, [256, 257]);
      addon.setNumThreads(3);
      const three = evaluate(g, u, c, [256, 257]);
      one.forEach((v, i) => expect(Buffer.from(three[i].buffer).equals(Buffer.from(v.buffer))).toBe(true));
    } finally {
      addon.setNumThreads(threads);
    }
  });

  test('memory: σ(g) is not kept for the backward pass, and the backward makes no temporaries', async () => {
    const shape: [number, number] = [64, 512];
    const bytes = 64 * 512 * 4;
    const [g0, u0] = inputs(64 * 512, 3);
    const measure = async (native: boolean): Promise<{ held: number; peak: number }> => {
      setNativeOpsEnabled(native);
      const g = tf.tensor2d(g0, shape);
      const u = tf.tensor2d(u0, shape);
      const base = tf.memory().numBytes;
      // Bytes alive right after the forward pass, while the tape holds what the backward needs.
      let held = 0;
      const info = await tf.profile(() => {
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const y = siluMul(a as tf.Tensor2D, b as tf.Tensor2D);
          held = tf.memory().numBytes - base;
          return tf.sum(y);
        })([g, u]);
        tf.dispose(grads);
      });
      tf.dispose([g, u]);
      setNativeOpsEnabled(true);
      return { held, peak: info.peakBytes };
    };
    const native = await measure(true);
    const stock = await measure(false);
    // The stock op's tape also holds σ(g) (one [n, d] tensor more); its backward forms ~8
    // [n, d] temporaries where the fused one writes only dg and du.
    expect(stock.held - native.held).toBe(bytes);
    expect(stock.peak - native.peak).toBeGreaterThanOrEqual(2 * bytes);
  });

  test('bad shapes are PtflowErrors', () => {
    const a = tf.zeros([4, 6]) as tf.Tensor2D;
    const b = tf.zeros([4, 5]) as tf.Tensor2D;
    expect(() => nativeSiluMul(a, b)).toThrow(PtflowError);
    expect(() => nativeSiluMul(a, b)).toThrow(/gate \[4, 6\] and up \[4, 5\]/);
    tf.dispose([a, b]);
  });
});

test('without the addon: null (the op keeps its stock path)', async () => {
  await tf.setBackend('cpu');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
  try {
    const x = tf.ones([2, 3]) as tf.Tensor2D;
    expect(nativeSiluMul(x, x)).toBeNull();
  } finally {
    resetNativeAddon();
    jest.restoreAllMocks();
  }
});
