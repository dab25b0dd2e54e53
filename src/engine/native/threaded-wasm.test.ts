/**
 * Native kernels on the threaded wasm backend, whose heap is a SharedArrayBuffer: started the
 * way ptflow starts it (initBackend registers the native kernels), checked against a float64
 * reference, including a product whose output allocation grows the shared heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { loadNativeAddon } from './addon';
import { randomFloat32, referenceMatMul, relativeError } from './reference';

describe('native kernels on threaded wasm', () => {
  afterAll(async () => {
    await shutdownBackend();
  });

  test('SharedArrayBuffer heap: matMul, transposes, heap growth', async () => {
    const load = loadNativeAddon();
    if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
    const info = await initBackend('wasm', { threads: 2 });
    expect(info.native).toMatchObject({ active: true });
    const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array; wasmMemory?: { buffer: ArrayBufferLike } } }).wasm;
    const heap = () => wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer;
    if (info.threads > 1) expect(heap()).toBeInstanceOf(SharedArrayBuffer);
    const spy = jest.spyOn(load.addon, 'gemm');

    const a = randomFloat32(45 * 70, 1);
    const b = randomFloat32(33 * 70, 2);
    const y = tf.tidy(() => tf.matMul(tf.tensor(a, [45, 70]), tf.tensor(b, [33, 70]), false, true).dataSync());
    expect(relativeError(y, referenceMatMul(a, [45, 70], b, [33, 70], false, true).values)).toBeLessThan(1e-5);

    const before = heap().byteLength;
    const M = 1024;
    const N = Math.ceil((before / 4 + 4 * 1024 * 1024) / M);
    const x = randomFloat32(4 * M, 3);
    const w = randomFloat32(4 * N, 4);
    const big = tf.tidy(() => tf.matMul(tf.tensor(x, [4, M]), tf.tensor(w, [4, N]), true, false));
    expect(heap().byteLength).toBeGreaterThan(before);
    const got = big.dataSync();
    const rows = 8;
    const xs = new Float32Array(4 * rows);
    for (let k = 0; k < 4; k++) for (let i = 0; i < rows; i++) xs[k * rows + i] = x[k * M + 500 + i];
    const ref = referenceMatMul(xs, [4, rows], w, [4, N], true, false);
    expect(relativeError(got.subarray(500 * N, (500 + rows) * N), ref.values)).toBeLessThan(1e-5);
    big.dispose();
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });
});
