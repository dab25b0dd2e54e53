import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PtflowError } from '../errors';
import { initWasm, shutdownWasm } from './wasm/init';
import { readFloat32Into, tensorFromFloat32 } from './tensor-io';

function checkBackend(): void {
  const values = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
  const t = tf.tensor(values, [3, 4]);
  // Into the middle of a larger buffer: the values before and after stay.
  const dst = new Float32Array(20).fill(7);
  readFloat32Into(t, dst, 5);
  expect(Array.from(dst.subarray(0, 5))).toEqual([7, 7, 7, 7, 7]);
  expect(Array.from(dst.subarray(5, 17))).toEqual(Array.from(values));
  expect(Array.from(dst.subarray(17))).toEqual([7, 7, 7]);
  // A tensor made by a kernel (not from a JS array) reads the same as dataSync.
  const y = tf.tidy(() => tf.mul(t, 3));
  const out = new Float32Array(12);
  readFloat32Into(y, out);
  expect(Array.from(out)).toEqual(Array.from(y.dataSync()));
  expect(() => readFloat32Into(t, new Float32Array(16), 5)).toThrow(/12 values at offset 5 do not fit a buffer of 16/);
  const ints = tf.tensor([1, 2], [2], 'int32');
  expect(() => readFloat32Into(ints, out)).toThrow(PtflowError);

  // The tensor keeps its values when the source buffer is overwritten afterwards.
  const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const made = tensorFromFloat32(src.subarray(2, 6), [2, 2]);
  src.fill(0);
  expect(made.shape).toEqual([2, 2]);
  expect(Array.from(made.dataSync())).toEqual([3, 4, 5, 6]);
  tf.dispose([t, y, ints, made]);
}

describe('readFloat32Into / tensorFromFloat32', () => {
  test('cpu backend', async () => {
    await tf.setBackend('cpu');
    checkBackend();
  });

  test('wasm backend (read straight from the heap)', async () => {
    await initWasm({ threads: 1 });
    try {
      checkBackend();
    } finally {
      shutdownWasm();
    }
  });
});
