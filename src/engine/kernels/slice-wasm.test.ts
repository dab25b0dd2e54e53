import * as tf from '@tensorflow/tfjs-core';
import { initWasm, shutdownWasm } from '../wasm/init';
import { registerPtflowKernels } from './register';
import { planSlice, sliceWasmConfig } from './slice-wasm';
import { splitVWasmConfig } from './split-v-wasm';
import { unpackWasmConfig } from './unpack-wasm';
import { randInt, rng, sliceRef } from './test-helpers';

describe('planSlice', () => {
  test('merges trailing axes taken whole into one run', () => {
    // x [4, 6, 5], rows 1..2, all of axes 1 and 2: one run of 2*30 elements from 30.
    const p = planSlice([4, 6, 5], [1, 0, 0], [2, 6, 5]);
    expect([p.runs, p.runLength, p.sourceStart(0)]).toEqual([1, 60, 30]);
    // Columns 2..4 of a [3, 7] matrix: 3 runs of 3.
    const q = planSlice([3, 7], [0, 2], [3, 3]);
    expect([q.runs, q.runLength, [0, 1, 2].map((k) => q.sourceStart(k))]).toEqual([3, 3, [2, 9, 16]]);
    const w = planSlice([3, 7], [0, 0], [3, 7]);
    expect([w.runs, w.runLength]).toEqual([1, 21]);
  });
});

describe('Slice (wasm, heap view)', () => {
  beforeAll(async () => {
    await initWasm({ threads: 1 });
    registerPtflowKernels('wasm');
  });
  afterAll(() => shutdownWasm());

  test('is the registered kernel', () => {
    expect(tf.getKernel('Slice', 'wasm')?.kernelFunc).toBe(sliceWasmConfig.kernelFunc);
  });

  test('random shapes, ranks 1-6, float32 / int32 / bool, match the reference', () => {
    const r = rng(777);
    for (let c = 0; c < 60; c++) {
      const rank = randInt(r, 1, 6);
      const shape = Array.from({ length: rank }, () => randInt(r, 1, rank > 4 ? 4 : 9));
      const begin = shape.map((d) => randInt(r, 0, d - 1));
      const size = shape.map((d, i) => (r() < 0.3 ? d - begin[i] : randInt(r, 0, d - begin[i])));
      const n = shape.reduce((a, b) => a * b, 1);
      const dtype = (['float32', 'int32', 'bool'] as const)[c % 3];
      const vals = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i * 7) % 3 === 0 ? 1 : 0 : (i * 37) % 101 - 50));
      const got = tf.tidy(() => {
        const x = tf.tensor(vals, shape, dtype);
        const s = tf.slice(x, begin, size);
        expect(s.shape).toEqual(size);
        expect(s.dtype).toBe(dtype);
        return Array.from(s.dataSync());
      });
      expect(got).toEqual(sliceRef(vals, shape, begin, size));
    }
  });

  test('size -1 and a slice of a slice', () => {
    const vals = Array.from({ length: 5 * 7 * 3 }, (_, i) => i + 0.5);
    const got = tf.tidy(() => {
      const x = tf.tensor3d(vals, [5, 7, 3]);
      const a = tf.slice(x, [1, 2, 0], [-1, 4, -1]);
      return Array.from(tf.slice(a, [1, 1, 1], [2, 2, 2]).dataSync());
    });
    const a = sliceRef(vals, [5, 7, 3], [1, 2, 0], [4, 4, 3]);
    expect(got).toEqual(sliceRef(a, [4, 4, 3], [1, 1, 1], [2, 2, 2]));
  });

  test('string tensors go to the stock kernels', () => {
    const got = tf.tidy(() => tf.slice(tf.tensor1d(['a', 'b', 'c', 'd']), [1], [2]).dataSync());
    expect(Array.from(got as unknown as string[])).toEqual(['b', 'c']);
    const parts = tf.tidy(() => tf.unstack(tf.tensor2d([['a', 'b'], ['c', 'd']])).map((t) => Array.from(t.dataSync() as unknown as string[])));
    expect(parts).toEqual([['a', 'b'], ['c', 'd']]);
  });

  test('Unpack and SplitV are replaced, and match the reference on random shapes', () => {
    expect(tf.getKernel('Unpack', 'wasm')?.kernelFunc).toBe(unpackWasmConfig.kernelFunc);
    expect(tf.getKernel('SplitV', 'wasm')?.kernelFunc).toBe(splitVWasmConfig.kernelFunc);
    const r = rng(4242);
    for (let c = 0; c < 30; c++) {
      const rank = randInt(r, 1, 4);
      const shape = Array.from({ length: rank }, () => randInt(r, 1, 7));
      const n = shape.reduce((a, b) => a * b, 1);
      const vals = Array.from({ length: n }, (_, i) => i * 3 - 7);
      const axis = randInt(r, 0, rank - 1);
      // unstack along `axis`
      const un = tf.tidy(() => tf.unstack(tf.tensor(vals, shape), axis).map((t) => ({ shape: t.shape, v: Array.from(t.dataSync()) })));
      expect(un).toHaveLength(shape[axis]);
      un.forEach((o, i) => {
        const begin = shape.map((_, d) => (d === axis ? i : 0));
        const size = shape.map((s, d) => (d === axis ? 1 : s));
        expect(o.shape).toEqual(shape.filter((_, d) => d !== axis));
        expect(o.v).toEqual(sliceRef(vals, shape, begin, size));
      });
      // split along `axis` into random sizes
      const sizes: number[] = [];
      for (let left = shape[axis]; left > 0; ) {
        const s = randInt(r, 1, left);
        sizes.push(s);
        left -= s;
      }
      const sp = tf.tidy(() => tf.split(tf.tensor(vals, shape, 'int32'), sizes, axis).map((t) => Array.from(t.dataSync())));
      let at = 0;
      sp.forEach((v, i) => {
        const begin = shape.map((_, d) => (d === axis ? at : 0));
        const size = shape.map((s, d) => (d === axis ? sizes[i] : s));
        expect(v).toEqual(sliceRef(vals, shape, begin, size));
        at += sizes[i];
      });
    }
  });
});
