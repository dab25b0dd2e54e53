import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PtflowError } from '../../errors';
import { initWasm, shutdownWasm } from '../wasm/init';
import { registerPtflowKernels } from './register';
import { segmentSumGeometry } from './unsorted-segment-sum';
import { unsortedSegmentSumCpuConfig } from './unsorted-segment-sum-cpu';
import { maxRelErr, randInt, rng, segmentSumRef } from './test-helpers';

describe('segmentSumGeometry', () => {
  test('rows, inner and output shape for rank-1 and rank-2 ids', () => {
    expect(segmentSumGeometry([7, 3, 5], [7], 4)).toEqual({ rows: 7, inner: 15, outShape: [4, 3, 5] });
    expect(segmentSumGeometry([2, 3, 5], [2, 3], 9)).toEqual({ rows: 6, inner: 5, outShape: [9, 5] });
  });
  test('ids that are not a prefix of x name both shapes', () => {
    expect(() => segmentSumGeometry([7, 3], [6], 4)).toThrow(PtflowError);
    expect(() => segmentSumGeometry([7, 3], [6], 4)).toThrow(/\[6\].*\[7,3\]/);
  });
});

// Random cases with odd sizes, repeated ids and ids out of range (dropped).
function cases(): Array<{ rows: number; inner: number; numSegments: number; x: Float32Array; ids: Int32Array }> {
  const r = rng(12345);
  const out = [];
  for (let c = 0; c < 6; c++) {
    const rows = randInt(r, 1, 97);
    const inner = randInt(r, 1, 37);
    const numSegments = randInt(r, 1, 23);
    const x = Float32Array.from({ length: rows * inner }, () => r() * 2 - 1);
    const ids = Int32Array.from({ length: rows }, () => randInt(r, -2, numSegments + 1));
    out.push({ rows, inner, numSegments, x, ids });
  }
  return out;
}

function checkBackend(): void {
  for (const { rows, inner, numSegments, x, ids } of cases()) {
    const got = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor2d(x, [rows, inner]), tf.tensor1d(ids, 'int32'), numSegments).dataSync(),
    );
    expect(got.length).toBe(numSegments * inner);
    expect(maxRelErr(got, segmentSumRef(x, ids, inner, numSegments))).toBeLessThan(1e-5);
  }
  // int32 values, rank-3 x.
  const xi = Int32Array.from({ length: 5 * 3 * 2 }, (_, i) => (i * 7) % 11);
  const ids = Int32Array.from([2, 0, 2, 1, 2]);
  const got = tf.tidy(() => {
    const t = tf.unsortedSegmentSum(tf.tensor3d(xi, [5, 3, 2], 'int32'), tf.tensor1d(ids, 'int32'), 3);
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([3, 3, 2]);
    return Array.from(t.dataSync());
  });
  expect(got).toEqual(segmentSumRef(xi, ids, 6, 3));
}

describe('UnsortedSegmentSum kernels', () => {
  test('cpu: matches the reference, and is the replacement kernel', async () => {
    await tf.setBackend('cpu');
    registerPtflowKernels('cpu');
    // Ours, not the stock one (O(numSegments × size): 44 s / 8.8 GB on the embedding gradient shape).
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')?.kernelFunc).toBe(unsortedSegmentSumCpuConfig.kernelFunc);
    checkBackend();
    // That embedding gradient shape: 8192 segments, values checked against the reference.
    const x = Float32Array.from({ length: 1024 * 256 }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
    const ids = Int32Array.from({ length: 1024 }, (_, i) => (i * i) % 8192); // repeats: squares mod 2^13
    const got = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [1024, 256]), tf.tensor1d(ids, 'int32'), 8192).dataSync());
    expect(maxRelErr(got, segmentSumRef(x, ids, 256, 8192))).toBeLessThan(1e-5);
  });

  test('wasm: matches the reference (the backend has no kernel of its own)', async () => {
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
    await initWasm({ threads: 1 });
    registerPtflowKernels('wasm');
    try {
      checkBackend();
    } finally {
      shutdownWasm();
    }
  });
});
