/**
 * The native GEMM called directly, against a float64 reference: every instruction-set path
 * this CPU runs, odd sizes, all transposes, strided and offset operands, broadcast tables,
 * bias/activation, SharedArrayBuffer memory, bounds checks, and concurrent use from
 * worker_threads sharing the one pool.
 */
import { Worker } from 'worker_threads';
import { type NativeAddon, defaultAddonPath, loadNativeAddon } from './addon';
import { runGemm } from './gemm';
import { planMatMul } from './plan';
import { randomFloat32, referenceMatMul, relativeError } from './reference';

function addonOrFail(): NativeAddon {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  return load.addon;
}

const f32 = (x: Float32Array) => ({ array: x, byteOffset: 0 });

describe('native gemm', () => {
  const addon = addonOrFail();
  const isas = addon.info().available;
  const initialIsa = addon.info().isa;
  afterAll(() => {
    addon.setIsa(initialIsa);
    addon.setNumThreads(2);
  });

  test.each(isas)('%s: odd sizes x all transposes vs float64 reference', (isa) => {
    expect(addon.setIsa(isa)).toBe(true);
    const sizes: Array<[number, number, number]> = [
      [1, 1, 1],
      [7, 33, 129],
      [33, 7, 1],
      [129, 65, 33],
      [13, 300, 270],
      [300, 45, 600],
    ];
    let seed = 1;
    for (const [M, N, K] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const aShape = transA ? [K, M] : [M, K];
          const bShape = transB ? [N, K] : [K, N];
          const a = randomFloat32(M * K, seed++);
          const b = randomFloat32(K * N, seed++);
          const c = new Float32Array(M * N).fill(NaN);
          runGemm(addon, planMatMul(aShape, bShape, transA, transB), f32(a), f32(b), f32(c));
          const ref = referenceMatMul(a, aShape, b, bShape, transA, transB);
          expect(relativeError(c, ref.values)).toBeLessThan(1e-5);
        }
      }
    }
  });

  test.each(isas)('%s: long K, narrow N, row-major A with a row stride (vector panel packing, depth tails)', (isa) => {
    expect(addon.setIsa(isa)).toBe(true);
    // 27 rows = two full 12-row panels + an edge; K = 1000 = 3 depth blocks of 256 + 232
    // (not a multiple of 16); lda = 1003 so rows do not start on a vector boundary.
    const M = 27;
    const N = 40;
    const K = 1000;
    const lda = 1003;
    const full = randomFloat32(M * lda, 71);
    const a = new Float32Array(M * K);
    for (let i = 0; i < M; i++) a.set(full.subarray(i * lda, i * lda + K), i * K);
    const b = randomFloat32(K * N, 72);
    const c = new Float32Array(M * N).fill(NaN);
    const desc = new Float64Array([1, M, N, K, 0, 0, lda, N, N, 0, 0, 0, 0, 0, 0]);
    addon.gemm(full, 0, b, 0, c, 0, desc, null, 0, null);
    const ref = referenceMatMul(a, [M, K], b, [K, N], false, false);
    expect(relativeError(c, ref.values)).toBeLessThan(1e-5);
  });

  test('results do not depend on the thread count (same blocking, same order)', () => {
    const a = randomFloat32(257 * 300, 5);
    const b = randomFloat32(300 * 190, 6);
    const plan = planMatMul([257, 300], [190, 300], false, true);
    const c1 = new Float32Array(257 * 190);
    const c2 = new Float32Array(257 * 190);
    addon.setNumThreads(1);
    runGemm(addon, plan, f32(a), f32(b), f32(c1));
    addon.setNumThreads(2);
    runGemm(addon, plan, f32(a), f32(b), f32(c2));
    expect(addon.getNumThreads()).toBe(2);
    expect(Buffer.from(c1.buffer).equals(Buffer.from(c2.buffer))).toBe(true);
  });

  test('operands at byte offsets inside a larger shared heap, with row strides (lda > K)', () => {
    const M = 19;
    const N = 37;
    const K = 23;
    const lda = 31; // A is the left 19x23 block of a 19x31 matrix
    const heap = new Uint8Array(new SharedArrayBuffer(64 * 1024));
    const f = new Float32Array(heap.buffer);
    const aOff = 100; // elements
    const bOff = 2000;
    const cOff = 5000;
    const big = randomFloat32(M * lda, 7);
    f.set(big, aOff);
    const b = randomFloat32(K * N, 8);
    f.set(b, bOff);
    const desc = new Float64Array([1, M, N, K, 0, 0, lda, N, N, 0, 0, 0, 0, 0, 0]);
    addon.gemm(heap, aOff * 4, heap, bOff * 4, heap, cOff * 4, desc);
    const a = new Float32Array(M * K);
    for (let i = 0; i < M; i++) a.set(big.subarray(i * lda, i * lda + K), i * K);
    const ref = referenceMatMul(a, [M, K], b, [K, N], false, false);
    expect(relativeError(f.subarray(cOff, cOff + M * N), ref.values)).toBeLessThan(1e-5);
    expect(f[cOff + M * N]).toBe(0); // nothing written past C
  });

  test('batched: strides and general broadcast table', () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[3, 9, 17], [3, 17, 11], false, false],
      [[4, 17, 9], [17, 11], true, false],
      [[9, 17], [5, 11, 17], false, true],
      [[2, 1, 9, 17], [1, 3, 11, 17], false, true],
      [[2, 3, 17, 9], [3, 17, 11], true, false],
    ];
    let seed = 20;
    for (const [aShape, bShape, tA, tB] of cases) {
      const a = randomFloat32(aShape.reduce((p, d) => p * d, 1), seed++);
      const b = randomFloat32(bShape.reduce((p, d) => p * d, 1), seed++);
      const plan = planMatMul(aShape, bShape, tA, tB);
      const c = new Float32Array(plan.outShape.reduce((p, d) => p * d, 1));
      runGemm(addon, plan, f32(a), f32(b), f32(c));
      const ref = referenceMatMul(a, aShape, b, bShape, tA, tB);
      expect(ref.shape).toEqual(plan.outShape);
      expect(relativeError(c, ref.values)).toBeLessThan(1e-5);
    }
  });

  test('bias and activations in the epilogue', () => {
    const M = 29;
    const N = 45;
    const K = 300; // two depth blocks: the epilogue must run after the last one only
    const a = randomFloat32(M * K, 30);
    const b = randomFloat32(K * N, 31);
    const bias = randomFloat32(N, 32);
    const ref = referenceMatMul(a, [M, K], b, [K, N], false, false).values;
    const plan = planMatMul([M, K], [K, N], false, false);
    const acts = {
      linear: (x: number) => x,
      relu: (x: number) => Math.max(0, x),
      relu6: (x: number) => Math.min(6, Math.max(0, x)),
      leakyrelu: (x: number) => (x > 0 ? x : 0.3 * x),
    } as const;
    for (const [name, fn] of Object.entries(acts) as Array<[keyof typeof acts, (x: number) => number]>) {
      const c = new Float32Array(M * N);
      runGemm(addon, plan, f32(a), f32(b), f32(c), {
        bias: { array: bias, byteOffset: 0, mode: 'perColumn' },
        activation: name,
        leakyreluAlpha: 0.3,
      });
      expect(relativeError(c, ref.map((v, i) => fn(v + bias[i % N])))).toBeLessThan(1e-5);
      // The bias really was added (the check above would notice a missing one).
      expect(relativeError(c, ref.map(fn))).toBeGreaterThan(1e-3);
    }
    const c = new Float32Array(M * N);
    runGemm(addon, plan, f32(a), f32(b), f32(c), { bias: { array: new Float32Array([2.5]), byteOffset: 0, mode: 'scalar' } });
    expect(relativeError(c, ref.map((v) => v + 2.5))).toBeLessThan(1e-5);
  });

  test('K = 0 gives zeros (plus bias); empty outputs are no-ops', () => {
    const c = new Float32Array(6).fill(7);
    runGemm(addon, planMatMul([2, 0], [0, 3], false, false), f32(new Float32Array(0)), f32(new Float32Array(0)), f32(c), {
      bias: { array: new Float32Array([1, 2, 3]), byteOffset: 0, mode: 'perColumn' },
    });
    expect(Array.from(c)).toEqual([1, 2, 3, 1, 2, 3]);
    runGemm(addon, planMatMul([0, 4], [4, 3], false, false), f32(new Float32Array(0)), f32(new Float32Array(12)), f32(new Float32Array(0)));
  });

  test('out-of-bounds operands are rejected before any work', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(3); // needs 4
    const desc = new Float64Array([1, 2, 2, 3, 0, 0, 3, 2, 2, 0, 0, 0, 0, 0, 0]);
    expect(() => addon.gemm(a, 0, b, 0, c, 0, desc)).toThrow(/c is too small/);
    expect(() => addon.gemm(a, 4, b, 0, new Float32Array(4), 0, desc)).toThrow(/a is too small/);
    expect(() => addon.gemm(a, 2, b, 0, new Float32Array(4), 0, desc)).toThrow(/multiple of 4/);
    const bad = new Float64Array([1, 2, 2, 3, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0]); // lda < K
    expect(() => addon.gemm(a, 0, b, 0, new Float32Array(4), 0, bad)).toThrow(/leading dimension/);
    expect(() => addon.gemm(a, 0, b, 0, c, 0, new Float64Array(3))).toThrow(/desc/);
  });

  test('worker_threads load the addon and share the pool while the main thread computes', async () => {
    const M = 160;
    const N = 150;
    const K = 140;
    const a = randomFloat32(M * K, 40);
    const b = randomFloat32(K * N, 41);
    const ref = referenceMatMul(a, [M, K], b, [K, N], false, false).values;
    const code = `
      (function main() {
      const { parentPort, workerData } = require('worker_threads');
      const addon = require(workerData.path);
      const { a, b, M, N, K } = workerData;
      const desc = new Float64Array([1, M, N, K, 0, 0, K, N, N, 0, 0, 0, 0, 0, 0]);
      let first = 0;
      const c = new Float32Array(new SharedArrayBuffer(M * N * 4));
      for (let r = 0; r < 30; r++) {
        c.fill(0);
        addon.gemm(a, 0, b, 0, c, 0, desc);
        let s = 0; for (let i = 0; i < c.length; i++) s += c[i];
        if (r === 0) first = s;
        if (s !== first) { parentPort.postMessage({ ok: false }); return; }
      }
      parentPort.postMessage({ ok: true, c });
      })();
    `;
    const shared = (x: Float32Array) => {
      const s = new Float32Array(new SharedArrayBuffer(x.byteLength));
      s.set(x);
      return s;
    };
    const workerData = { path: defaultAddonPath(), a: shared(a), b: shared(b), M, N, K };
    const run = () =>
      new Promise<{ ok: boolean; c?: Float32Array }>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData });
        w.once('message', (m: { ok: boolean; c?: Float32Array }) => {
          void w.terminate();
          resolve(m);
        });
        w.once('error', reject);
      });
    const pending = [run(), run()];
    const plan = planMatMul([M, K], [K, N], false, false);
    const c = new Float32Array(M * N);
    for (let r = 0; r < 30; r++) runGemm(addon, plan, f32(a), f32(b), f32(c));
    const results = await Promise.all(pending);
    expect(relativeError(c, ref)).toBeLessThan(1e-5);
    for (const r of results) {
      expect(r.ok).toBe(true);
      expect(relativeError(r.c ?? new Float32Array(0), ref)).toBeLessThan(1e-5);
    }
  });
});
