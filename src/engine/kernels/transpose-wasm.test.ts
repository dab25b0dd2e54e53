import * as tf from '@tensorflow/tfjs-core';
import { initWasm, shutdownWasm } from '../wasm/init';
import { registerPtflowKernels } from './register';
import { simplifyPermutation, transposeWasmConfig } from './transpose-wasm';
import { randInt, rng, transposeRef } from './test-helpers';

describe('simplifyPermutation', () => {
  test('merges axes that stay together and drops size-1 axes', () => {
    expect(simplifyPermutation([8, 128, 4, 64], [0, 2, 1, 3])).toEqual({ shape: [8, 128, 4, 64], perm: [0, 2, 1, 3] });
    expect(simplifyPermutation([2, 3, 5, 7], [2, 3, 0, 1])).toEqual({ shape: [6, 35], perm: [1, 0] });
    expect(simplifyPermutation([8, 128, 1, 64], [0, 2, 1, 3])).toEqual({ shape: [65536], perm: [0] });
    expect(simplifyPermutation([4, 1, 6], [2, 1, 0])).toEqual({ shape: [4, 6], perm: [1, 0] });
    expect(simplifyPermutation([1, 1], [1, 0])).toEqual({ shape: [], perm: [] });
  });
});

function randomPerm(r: () => number, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(r, 0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

describe('Transpose (wasm, heap views)', () => {
  beforeAll(async () => {
    await initWasm({ threads: 1 });
    registerPtflowKernels('wasm');
  });
  afterAll(() => shutdownWasm());

  test('is the registered kernel', () => {
    expect(tf.getKernel('Transpose', 'wasm')?.kernelFunc).toBe(transposeWasmConfig.kernelFunc);
  });

  test('random shapes and permutations (ranks 1-5, odd sizes, all dtypes) match the reference', () => {
    const r = rng(99);
    for (let c = 0; c < 80; c++) {
      const rank = randInt(r, 1, 5);
      const shape = Array.from({ length: rank }, () => randInt(r, 1, rank > 3 ? 5 : 40));
      const perm = randomPerm(r, rank);
      const n = shape.reduce((a, b) => a * b, 1);
      const dtype = (['float32', 'int32', 'bool'] as const)[c % 3];
      const vals = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i % 3 === 1 ? 1 : 0) : i * 3 - 11));
      const got = tf.tidy(() => {
        const t = tf.transpose(tf.tensor(vals, shape, dtype), perm);
        expect(t.shape).toEqual(perm.map((p) => shape[p]));
        return Array.from(t.dataSync());
      });
      expect(got).toEqual(transposeRef(vals, shape, perm));
    }
  });

  test('a large 2-D transpose crosses many cache blocks correctly', () => {
    const [R, C] = [131, 1027];
    const vals = Array.from({ length: R * C }, (_, i) => i);
    const got = tf.tidy(() => Array.from(tf.transpose(tf.tensor2d(vals, [R, C])).dataSync()));
    expect(got).toEqual(transposeRef(vals, [R, C], [1, 0]));
  });

  test('permutations it does not handle go to the stock kernel', () => {
    // [2, 1, 0]: nothing merges, the innermost axis moves, not a batched 2-D transpose.
    expect(simplifyPermutation([3, 4, 5], [2, 1, 0]).perm).toEqual([2, 1, 0]);
    const vals = Array.from({ length: 3 * 4 * 5 }, (_, i) => i);
    const got = tf.tidy(() => Array.from(tf.transpose(tf.tensor3d(vals, [3, 4, 5]), [2, 1, 0]).dataSync()));
    expect(got).toEqual(transposeRef(vals, [3, 4, 5], [2, 1, 0]));
  });
});
