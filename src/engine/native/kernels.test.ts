/**
 * The native BatchMatMul / _FusedMatMul kernels inside TensorFlow.js, on the wasm and cpu
 * backends: against the stock kernels (restored in the same process) and a float64
 * reference, through autodiff (vs finite differences), with sliced inputs and wasm heap growth.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadNativeAddon } from './addon';
import { type NativeBackendName, registerNativeKernels, restoreStockKernels } from './register';
import { randomFloat32, referenceMatMul, relativeError } from './reference';

type Case = { aShape: number[]; bShape: number[]; tA: boolean; tB: boolean };

const CASES: Case[] = [];
for (const [M, N, K] of [
  [1, 1, 1],
  [7, 33, 129],
  [129, 7, 33],
  [33, 129, 300],
]) {
  for (const tA of [false, true])
    for (const tB of [false, true])
      CASES.push({ aShape: tA ? [K, M] : [M, K], bShape: tB ? [N, K] : [K, N], tA, tB });
}
// Batches the stock kernels handle (equal outer dims, or one side unbatched).
CASES.push({ aShape: [3, 9, 17], bShape: [3, 17, 11], tA: false, tB: false });
CASES.push({ aShape: [2, 3, 17, 9], bShape: [17, 11], tA: true, tB: false });
CASES.push({ aShape: [9, 17], bShape: [4, 11, 17], tA: false, tB: true });

const numel = (s: number[]) => s.reduce((p, d) => p * d, 1);

function runCases(cases: Case[], seed: number): Float32Array[] {
  return cases.map((c, i) =>
    tf.tidy(() => {
      const a = tf.tensor(randomFloat32(numel(c.aShape), seed + 2 * i), c.aShape);
      const b = tf.tensor(randomFloat32(numel(c.bShape), seed + 2 * i + 1), c.bShape);
      return tf.matMul(a, b, c.tA, c.tB).dataSync() as Float32Array;
    }),
  );
}

describe.each<NativeBackendName>(['cpu', 'wasm'])('native kernels on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });
  afterEach(() => {
    jest.restoreAllMocks();
    restoreStockKernels(backend);
  });

  test('BatchMatMul: odd sizes, all transposes, batches: native == stock (rel 1e-5)', () => {
    const stock = runCases(CASES, 100);
    const reg = registerNativeKernels(backend);
    expect(reg).toEqual({ active: true, isa: addon.info().isa });
    const spy = jest.spyOn(addon, 'gemm');
    const native = runCases(CASES, 100);
    expect(spy).toHaveBeenCalledTimes(CASES.length);
    spy.mockRestore();
    native.forEach((v, i) => expect(relativeError(v, stock[i])).toBeLessThan(1e-5));
  });

  test('general batch broadcast matches a float64 reference', () => {
    registerNativeKernels(backend);
    const aShape = [2, 1, 9, 17];
    const bShape = [1, 3, 17, 11];
    const a = randomFloat32(numel(aShape), 7);
    const b = randomFloat32(numel(bShape), 8);
    const out = tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape)));
    const ref = referenceMatMul(a, aShape, b, bShape, false, false);
    expect(out.shape).toEqual(ref.shape);
    expect(relativeError(out.dataSync(), ref.values)).toBeLessThan(1e-5);
    out.dispose();
  });

  test('sliced inputs (offsets inside other tensors) and registering twice', () => {
    const big = tf.tensor(randomFloat32(40 * 50, 9), [40, 50]);
    const w = tf.tensor(randomFloat32(50 * 30, 10), [30, 50]);
    const compute = () =>
      tf.tidy(() => tf.matMul(tf.slice(big, [3, 5], [31, 21]), tf.slice(w, [2, 5], [27, 21]), false, true).dataSync());
    const stock = compute();
    registerNativeKernels(backend);
    expect(registerNativeKernels(backend).active).toBe(true);
    expect(relativeError(compute(), stock)).toBeLessThan(1e-5);
    tf.dispose([big, w]);
  });

  test('_FusedMatMul: bias + relu / leakyrelu native, prelu falls back to stock', () => {
    // Checked against a float64 reference: the stock wasm kernel adds the bias wrongly when
    // transposeB is set (relative error ~0.18 here), so it cannot be the reference.
    const av = randomFloat32(37 * 45, 11);
    const bv = randomFloat32(29 * 45, 12);
    const biasv = randomFloat32(29, 13);
    const a = tf.tensor(av, [37, 45]);
    const b = tf.tensor(bv, [29, 45]);
    const bias = tf.tensor(biasv, [29]);
    const alpha = tf.tensor(randomFloat32(29, 14), [29]);
    const prod = referenceMatMul(av, [37, 45], bv, [29, 45], false, true).values;
    const withBias = prod.map((v, i) => v + biasv[i % 29]);
    const expected = [
      withBias.map((v) => Math.max(0, v)),
      withBias.map((v) => (v > 0 ? v : 0.1 * v)),
      prod,
    ];
    const run = () =>
      [
        tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'relu' }),
        tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'leakyrelu', leakyreluAlpha: 0.1 }),
        tf.fused.matMul({ a, b, transposeB: true }),
        tf.fused.matMul({ a, b: tf.transpose(b), bias, activation: 'prelu', preluActivationWeights: alpha }),
      ].map((t) => {
        const v = t.dataSync() as Float32Array;
        t.dispose();
        return v;
      });
    const stock = run();
    registerNativeKernels(backend);
    const spy = jest.spyOn(addon, 'gemm');
    const native = run();
    // prelu goes to the stock kernel (which computes its product without the registry).
    expect(spy).toHaveBeenCalledTimes(3);
    expected.forEach((e, i) => expect(relativeError(native[i], e)).toBeLessThan(1e-5));
    expect(relativeError(native[3], stock[3])).toBeLessThan(1e-5);
    expect(native[0].some((x) => x === 0)).toBe(true); // relu really clipped something
    tf.dispose([a, b, bias, alpha]);
  });

  test('gradients of a matMul chain: finite differences and stock gradients', () => {
    // y = (A · Bᵀ) · C with a matmul whose gradient uses transposed products (as ptflow's
    // linear op may): dA = dY · Bᵀ, dB = Aᵀ · dY. tfjs-core registers no matmul gradient.
    const mm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [a, b, tB] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const transB = tB.dataSync()[0] === 1;
      save([a, b]);
      return {
        value: tf.matMul(a, b, false, transB),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], [sa, sb]: tf.Tensor[]) => {
          const g = dy as tf.Tensor;
          return [
            tf.matMul(g, sb, false, !transB),
            transB ? tf.matMul(g, sa, true, false) : tf.matMul(sa, g, true, false),
            tf.zerosLike(tB),
          ];
        },
      };
    });
    const T = tf.scalar(1);
    const F = tf.scalar(0);
    const A = tf.tensor(randomFloat32(5 * 7, 15), [5, 7]);
    const B = tf.tensor(randomFloat32(4 * 7, 16), [4, 7]);
    const C = tf.tensor(randomFloat32(4 * 3, 17), [4, 3]);
    const W = tf.tensor(randomFloat32(5 * 3, 18), [5, 3]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => mm(mm(a, b, T), c, F);
    const grads = () => tf.grads((a, b, c) => f(a, b, c))([A, B, C], W).map((g) => g.dataSync() as Float32Array);
    const stock = grads();
    registerNativeKernels(backend);
    const spy = jest.spyOn(addon, 'gemm');
    const native = grads();
    expect(spy.mock.calls.length).toBe(6); // 2 forward + 4 backward products
    native.forEach((g, i) => expect(relativeError(g, stock[i])).toBeLessThan(1e-5));
    // Central differences of g(A) = sum(W ⊙ y) on every entry of A (native forward passes).
    const w = W.dataSync();
    const base = A.dataSync() as Float32Array;
    const eps = 1e-2;
    const fd = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number) => {
        const v = Float32Array.from(base);
        v[i] += delta;
        const y = tf.tidy(() => f(tf.tensor(v, [5, 7]), B, C).dataSync());
        let s = 0;
        for (let j = 0; j < y.length; j++) s += w[j] * y[j];
        return s;
      };
      fd[i] = (at(eps) - at(-eps)) / (2 * eps);
    }
    expect(relativeError(native[0], fd)).toBeLessThan(1e-3);
    tf.dispose([A, B, C, W, T, F]);
  });

  if (backend === 'wasm') {
    test('wasm: output allocation that grows the heap', () => {
      registerNativeKernels(backend);
      const wasmBackend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
      const before = wasmBackend.wasm.HEAPU8.buffer.byteLength;
      const M = 2048;
      const N = Math.ceil((before / 4 + 4 * 1024 * 1024) / M); // output larger than the heap was
      const a = randomFloat32(M * 8, 18);
      const b = randomFloat32(8 * N, 19);
      const out = tf.tidy(() => tf.matMul(tf.tensor(a, [M, 8]), tf.tensor(b, [8, N])));
      expect(wasmBackend.wasm.HEAPU8.buffer.byteLength).toBeGreaterThan(before);
      const got = out.dataSync();
      // Check a band of rows against the float64 reference.
      const rows = 16;
      const ref = referenceMatMul(a.subarray(1000 * 8, (1000 + rows) * 8), [rows, 8], b, [8, N], false, false);
      expect(relativeError(got.subarray(1000 * N, (1000 + rows) * N), ref.values)).toBeLessThan(1e-5);
      out.dispose();
    });
  }
});
