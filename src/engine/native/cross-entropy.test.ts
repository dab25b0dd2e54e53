/**
 * The fused native softmax cross-entropy (forward and backward) against a float64 reference
 * and the stock-op path, on the cpu and wasm backends: odd sizes, ignored rows, every
 * instruction-set path, finite differences, wasm heap growth, bad targets, the fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import '../ops/gradients'; // Sum / Multiply gradients for the per-row form's tests
import { loadNativeAddon, resetNativeAddon } from './addon';
import {
  CE_BACKWARD_KERNEL,
  CE_FORWARD_KERNEL,
  nativeCrossEntropyAvailable,
  softmaxCrossEntropy,
  softmaxCrossEntropySum,
  stockSoftmaxCrossEntropy,
} from './cross-entropy';
import { randomFloat32, relativeError } from './reference';

/** Float64 reference: per-row loss and dL/dz for L = Σ_i up_i · loss_i. */
function reference(z: Float32Array, t: Int32Array, N: number, V: number, up: Float64Array) {
  const loss = new Float64Array(N);
  const grad = new Float64Array(N * V);
  for (let i = 0; i < N; i++) {
    if (t[i] === -100) continue;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, z[i * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(z[i * V + j] - m);
    const lse = m + Math.log(s);
    loss[i] = lse - z[i * V + t[i]];
    for (let j = 0; j < V; j++) grad[i * V + j] = (Math.exp(z[i * V + j] - lse) - (j === t[i] ? 1 : 0)) * up[i];
  }
  return { loss, grad };
}

function problem(N: number, V: number, seed: number, scale = 8) {
  const z = randomFloat32(N * V, seed).map((x) => x * scale);
  // Every third row ignored; targets spread over the vocabulary, the last index included.
  const t = Int32Array.from({ length: N }, (_, i) => (i % 3 === 1 ? -100 : i === 0 ? V - 1 : (i * 7919 + seed) % V));
  const up = Float64Array.from(randomFloat32(N, seed + 1), (x) => x + 1.5);
  return { z, t, up };
}

/** Loss rows and d(Σ up_i loss_i)/dz through `op`. */
function run(op: typeof softmaxCrossEntropy, z: Float32Array, t: Int32Array, N: number, V: number, up: Float64Array) {
  return tf.tidy(() => {
    const logits = tf.tensor2d(z, [N, V]);
    const w = tf.tensor1d(Float32Array.from(up));
    const loss = op(logits, t).dataSync() as Float32Array;
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x as tf.Tensor2D, t), w)))(logits).dataSync() as Float32Array;
    return { loss: Float32Array.from(loss), grad: Float32Array.from(grad) };
  });
}

const SIZES: Array<[number, number]> = [
  [1, 1],
  [3, 7],
  [7, 33],
  [17, 129],
  [5, 1001],
  [33, 4099],
];

describe.each(['cpu', 'wasm'])('native softmax cross-entropy on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });
  afterEach(() => jest.restoreAllMocks());

  test('runs natively: loss and gradient match float64 and the stock path (rel 1e-5)', () => {
    expect(nativeCrossEntropyAvailable()).toBe(true);
    const fwd = jest.spyOn(addon, 'crossEntropyForward');
    const bwd = jest.spyOn(addon, 'crossEntropyBackward');
    SIZES.forEach(([N, V], k) => {
      const { z, t, up } = problem(N, V, 10 + k);
      const ref = reference(z, t, N, V, up);
      const native = run(softmaxCrossEntropy, z, t, N, V, up);
      const stock = run(stockSoftmaxCrossEntropy, z, t, N, V, up);
      expect(relativeError(native.loss, ref.loss)).toBeLessThan(1e-5);
      expect(relativeError(native.grad, ref.grad)).toBeLessThan(1e-5);
      expect(relativeError(native.loss, stock.loss)).toBeLessThan(1e-5);
      expect(relativeError(native.grad, stock.grad)).toBeLessThan(1e-5);
      // Ignored rows: loss 0 and a zero gradient row.
      for (let i = 0; i < N; i++) {
        if (t[i] !== -100) continue;
        expect(native.loss[i]).toBe(0);
        expect(native.grad.subarray(i * V, (i + 1) * V).every((g) => g === 0)).toBe(true);
      }
    });
    expect(fwd).toHaveBeenCalledTimes(2 * SIZES.length);
    expect(bwd).toHaveBeenCalledTimes(SIZES.length);
  });

  test('every instruction-set path matches float64 (rows over a 32k vocabulary)', () => {
    const N = 9;
    const V = 32000 + 5; // not a multiple of any vector width
    const { z, t, up } = problem(N, V, 42, 20);
    const ref = reference(z, t, N, V, up);
    const isa = addon.info().isa;
    try {
      for (const name of addon.info().available) {
        expect(addon.setIsa(name)).toBe(true);
        const got = run(softmaxCrossEntropy, z, t, N, V, up);
        expect(relativeError(got.loss, ref.loss)).toBeLessThan(1e-5);
        expect(relativeError(got.grad, ref.grad)).toBeLessThan(1e-5);
      }
    } finally {
      addon.setIsa(isa);
    }
  });

  test('gradient vs central finite differences of the native loss', () => {
    const N = 4;
    const V = 6;
    const { z, t, up } = problem(N, V, 77, 2);
    const got = run(softmaxCrossEntropy, z, t, N, V, up);
    const total = (v: Float32Array): number =>
      tf.tidy(() => {
        const l = softmaxCrossEntropy(tf.tensor2d(v, [N, V]), t).dataSync();
        let s = 0;
        for (let i = 0; i < N; i++) s += up[i] * l[i];
        return s;
      });
    const eps = 1e-2;
    const fd = new Float64Array(N * V);
    for (let k = 0; k < N * V; k++) {
      const plus = Float32Array.from(z);
      const minus = Float32Array.from(z);
      plus[k] += eps;
      minus[k] -= eps;
      fd[k] = (total(plus) - total(minus)) / (2 * eps);
    }
    expect(relativeError(got.grad, fd)).toBeLessThan(1e-3);
  });

  test('sum form, upstream broadcast from a scalar, no leaked tensors', () => {
    const N = 11;
    const V = 50;
    const { z, t } = problem(N, V, 5);
    const ones = new Float64Array(N).fill(1);
    const ref = reference(z, t, N, V, ones);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.tidy(() => {
      const logits = tf.tensor2d(z, [N, V]);
      return tf.valueAndGrads((x: tf.Tensor) => tf.mul(softmaxCrossEntropySum(x as tf.Tensor2D, t), 3))([logits]);
    });
    expect(value.dataSync()[0]).toBeCloseTo(3 * ref.loss.reduce((a, b) => a + b, 0), 3);
    expect(relativeError(grads[0].dataSync(), ref.grad.map((g) => 3 * g))).toBeLessThan(1e-5);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('NaN logits give a NaN loss; bad targets are PtflowErrors naming the row', () => {
    const z = new Float32Array(2 * 20).fill(0.5);
    z[27] = NaN;
    const loss = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(z, [2, 20]), [3, 4]).dataSync());
    expect(loss[0]).toBeCloseTo(Math.log(20), 5);
    expect(Number.isNaN(loss[1])).toBe(true);
    const logits = tf.tensor2d(z, [2, 20]);
    expect(() => softmaxCrossEntropy(logits, [3, 20])).toThrow(PtflowError);
    expect(() => softmaxCrossEntropy(logits, [3, 20])).toThrow(/target 20 of row 1 .*\[0, 20\)/);
    expect(() => softmaxCrossEntropy(logits, [1.5, 2])).toThrow(/row 0/);
    expect(() => softmaxCrossEntropy(logits, [1])).toThrow(/1 targets for logits with 2 rows/);
    logits.dispose();
    // The addon checks too (it is also reachable without this module).
    const out = new Float32Array(2);
    expect(() =>
      addon.crossEntropyForward!(z, 0, new Int32Array([0, -1]), 0, out, 0, new Float32Array(2), 0, 2, 20, -100),
    ).toThrow(/target -1 of row 1/);
    expect(() => addon.crossEntropyForward!(z, 0, new Int32Array([0, 1]), 0, out, 0, out, 0, 3, 20, -100)).toThrow(/fewer than N/);
    expect(() => addon.crossEntropyForward!(z, 0, new Int32Array(3), 0, out, 0, out, 0, 3, 20, -100)).toThrow(/too small/);
  });

  test('far-below-max logits get an exact 0 gradient (no subnormals), every ISA', () => {
    const V = 70;
    const z = new Float32Array(V).fill(-200);
    z[3] = 0;
    const isa = addon.info().isa;
    try {
      for (const name of addon.info().available) {
        addon.setIsa(name);
        const g = tf.tidy(() => tf.grad((x: tf.Tensor) => softmaxCrossEntropySum(x as tf.Tensor2D, [3]))(tf.tensor2d(z, [1, V])).dataSync());
        g.forEach((v) => expect(Math.abs(v)).toBe(0));
      }
    } finally {
      addon.setIsa(isa);
    }
  });

  if (backend === 'wasm') {
    test('wasm: the gradient output grows the heap', () => {
      const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
      const before = heap();
      const V = 4096;
      const N = Math.ceil((before / 4 + 4 * 1024 * 1024) / V); // dlogits larger than the heap was
      const z = randomFloat32(N * V, 3).map((x) => 4 * x);
      const t = Int32Array.from({ length: N }, (_, i) => (i * 31) % V);
      const grad = tf.tidy(() => {
        const logits = tf.tensor2d(z, [N, V]);
        return tf.grad((x: tf.Tensor) => softmaxCrossEntropySum(x as tf.Tensor2D, t))(logits);
      });
      expect(heap()).toBeGreaterThan(before);
      const g = grad.dataSync();
      const rows = [0, 1, N >> 1, N - 1];
      for (const i of rows) {
        const sub = z.subarray(i * V, (i + 1) * V);
        const ref = reference(sub, t.subarray(i, i + 1), 1, V, new Float64Array([1]));
        expect(relativeError(g.subarray(i * V, (i + 1) * V), ref.grad)).toBeLessThan(1e-5);
      }
      grad.dispose();
    });
  }
});

describe('softmax cross-entropy without the addon', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterEach(() => {
    resetNativeAddon();
    jest.restoreAllMocks();
  });

  test('falls back to stock ops with the same values', () => {
    const N = 7;
    const V = 13;
    const { z, t, up } = problem(N, V, 99);
    const native = run(softmaxCrossEntropy, z, t, N, V, up);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
    expect(nativeCrossEntropyAvailable()).toBe(false);
    const runKernel = jest.spyOn(tf.engine(), 'runKernel');
    const fallback = run(softmaxCrossEntropy, z, t, N, V, up);
    const names = runKernel.mock.calls.map((c) => c[0]);
    expect(names).not.toContain(CE_FORWARD_KERNEL);
    expect(names).not.toContain(CE_BACKWARD_KERNEL);
    const ref = reference(z, t, N, V, up);
    expect(relativeError(fallback.loss, ref.loss)).toBeLessThan(1e-5);
    expect(relativeError(fallback.grad, ref.grad)).toBeLessThan(1e-5);
    expect(relativeError(fallback.loss, native.loss)).toBeLessThan(1e-5);
  });
});
