/**
 * The wasm Add / Sub / Multiply / RealDiv through the addon against the stock wasm kernels
 * (kept by register.ts when it replaced them): bit for bit, on whole and scalar operands above
 * the native size, with values that round, overflow, underflow to subnormals and are NaN / ±Inf.
 * Broadcasts and int32 go to the stock kernel and still give its values.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native/addon';
import { initWasm, shutdownWasm } from '../wasm/init';
import { NATIVE_MIN, resetNativeElementwise } from './elementwise-cpu';
import { elementwiseWasmConfigs } from './elementwise-wasm';
import { registerPtflowKernels } from './register';
import { stockKernel } from './stock';
import { rng } from './test-helpers';

const native = loadNativeAddon().ok;

/** Values of every kind: ordinary, huge (products overflow), tiny (results subnormal), 0, ±Inf, NaN. */
function values(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const special = [0, -0, Infinity, -Infinity, NaN, 1e-38, -3e-39, 3e38, 1.5e-45];
  return Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? special[(i / 97) % special.length] : (r() - 0.5) * 10 ** Math.floor(r() * 10 - 5)));
}

/** The stock wasm kernel's result. */
function stockResult(kernel: string, a: tf.Tensor, b: tf.Tensor): Float32Array | Int32Array {
  return read(stockKernel(kernel, 'wasm', 'test')({ inputs: { a, b } as unknown as NamedTensorInfoMap, backend: tf.backend(), attrs: {} }) as TensorInfo);
}

function read(info: TensorInfo): Float32Array | Int32Array {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const v = t.dataSync() as Float32Array | Int32Array;
  t.dispose();
  return v;
}

(native ? describe : describe.skip)('wasm Add / Sub / Multiply / RealDiv through the addon', () => {
  beforeAll(async () => {
    await initWasm({ threads: 2 });
    registerPtflowKernels('wasm');
  });
  afterAll(() => shutdownWasm());

  test('are the registered kernels, and large whole operands go to the addon', () => {
    for (const c of elementwiseWasmConfigs) expect(tf.getKernel(c.kernelName, 'wasm')?.kernelFunc).toBe(c.kernelFunc);
    const load = loadNativeAddon();
    if (!load.ok) throw new Error('addon not loaded');
    const spy = jest.spyOn(load.addon, 'ewBinary');
    resetNativeElementwise();
    try {
      tf.tidy(() => tf.add(tf.ones([NATIVE_MIN]), tf.ones([NATIVE_MIN])).dataSync());
      expect(spy).toHaveBeenCalledTimes(1);
      tf.tidy(() => tf.add(tf.ones([NATIVE_MIN - 1]), tf.ones([NATIVE_MIN - 1])).dataSync());
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
      resetNativeElementwise();
    }
  });

  const n = NATIVE_MIN * 5 + 3;
  test.each([tf.Add, tf.Sub, tf.Multiply, tf.RealDiv])('%s: bit for bit the stock kernel (whole, scalar left, scalar right)', (kernel) => {
    const x = tf.tensor(values(1, n), [n]);
    const y = tf.tensor(values(2, n), [n]);
    const s = tf.scalar(values(3, 1)[0] || 0.37);
    for (const [a, b] of [[x, y], [s, y], [x, s]] as const) {
      const got = read(tf.engine().runKernel(kernel, { a, b } as unknown as tf.NamedTensorMap) as TensorInfo);
      const want = stockResult(kernel, a, b);
      expect(got.length).toBe(n);
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
    }
    for (const t of [x, y, s]) t.dispose();
  });

  test('a row broadcast and int32 operands take the stock kernel, with its values', () => {
    const rows = 64;
    const cols = NATIVE_MIN / 16;
    const m = tf.tensor(values(4, rows * cols), [rows, cols]);
    const row = tf.tensor(values(5, cols), [cols]);
    const got = tf.add(m, row);
    expect(got.shape).toEqual([rows, cols]);
    const mv = m.dataSync();
    const rv = row.dataSync();
    const gv = got.dataSync();
    for (let i = 0; i < rows * cols; i += 997) expect(Object.is(gv[i], Math.fround(mv[i] + rv[i % cols]))).toBe(true);
    const ia = tf.range(0, NATIVE_MIN * 2, 1, 'int32');
    const ib = tf.mul(ia, tf.scalar(3, 'int32'));
    expect(ib.dtype).toBe('int32');
    expect(ib.dataSync()[12345]).toBe(12345 * 3);
    for (const t of [m, row, got, ia, ib]) t.dispose();
  });
});
