// The cpu backend's typed-array element-wise kernels against a naive broadcasting loop written
// here (float64 formula rounded to float32, as the stock kernels compute) and against the stock
// kernels themselves, bit for bit, for every broadcast pattern they take and some they leave to
// the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { loadNativeAddon } from '../native/addon';
import { elementwiseCpuConfigs, resetNativeElementwise } from './elementwise-cpu';
import { stockKernel } from './stock';

beforeAll(async () => {
  expect((await initBackend('cpu')).name).toBe('cpu');
});
afterAll(async () => {
  await shutdownBackend();
});

function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 3 + (seed === 2 ? 3.5 : 0));
}

/** out[loc] = op(a[loc broadcast], b[loc broadcast]) by index arithmetic, rounded to float32. */
function naive(op: (x: number, y: number) => number, as: number[], av: Float32Array, bs: number[], bv: Float32Array): number[] {
  const rank = Math.max(as.length, bs.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(as);
  const pb = pad(bs);
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const n = out.reduce((p, d) => p * d, 1);
  const index = (shape: number[], loc: number[]) => loc.reduce((acc, l, i) => acc * shape[i] + (shape[i] === 1 ? 0 : l), 0);
  const res: number[] = [];
  for (let k = 0; k < n; k++) {
    const loc: number[] = [];
    let r = k;
    for (let i = rank - 1; i >= 0; i--) {
      loc[i] = r % out[i];
      r = Math.floor(r / out[i]);
    }
    res.push(Math.fround(op(av[index(pa, loc)], bv[index(pb, loc)])));
  }
  return res;
}

const BINARY: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (x: number, y: number) => number]> = [
  [tf.Add, tf.add, (x, y) => x + y],
  [tf.Sub, tf.sub, (x, y) => x - y],
  [tf.Multiply, tf.mul, (x, y) => x * y],
  [tf.RealDiv, tf.div, (x, y) => x / y],
];

const SHAPES: Array<[string, number[], number[]]> = [
  ['same shape', [7, 5], [7, 5]],
  ['scalar b', [7, 5], []],
  ['scalar a', [], [3, 4, 5]],
  ['row b', [6, 4, 5], [4, 5]],
  ['row a (size-1 leading dims)', [1, 1, 5], [6, 5]],
  ['column b', [6, 5], [6, 1]],
  ['column a', [6, 4, 1, 1], [6, 4, 3, 2]],
  ['column a with row b', [6, 1], [1, 5]],
  ['middle broadcast (stock)', [6, 4, 5], [6, 1, 5]],
];

describe.each(BINARY)('%s', (name, fn, op) => {
  test.each(SHAPES)('%s', (_case, as, bs) => {
    const av = values(as, 1);
    const bv = values(bs, 2);
    const a = tf.tensor(av, as);
    const b = tf.tensor(bv, bs);
    const y = fn(a, b);
    expect(Array.from(y.dataSync())).toEqual(naive(op, as, av, bs, bv));
    // The stock kernel gives the same bits.
    const backend = tf.backend();
    const stock = stockKernel(name, 'cpu', 'test')({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
    expect(y.shape).toEqual(stock.shape);
    expect(Array.from(y.dataSync())).toEqual(Array.from(backend.readSync(stock.dataId) as Float32Array));
    backend.disposeData(stock.dataId);
    tf.dispose([a, b, y]);
  });
});

test('int32 operands go to the stock kernel (int32 result)', () => {
  const y = tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32'));
  expect(y.dtype).toBe('int32');
  expect(Array.from(y.dataSync())).toEqual([5, 7, 9]);
});

const UNARY: Array<[string, (x: tf.Tensor) => tf.Tensor, (x: number) => number]> = [
  [tf.Sigmoid, tf.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
  [tf.Square, tf.square, (x) => x * x],
  [tf.Neg, tf.neg, (x) => -x],
  [tf.Sqrt, tf.sqrt, (x) => Math.sqrt(x)],
  [tf.Exp, tf.exp, (x) => Math.exp(x)],
];

test.each(UNARY)('%s: the formula rounded to float32, and the stock kernel bit for bit', (name, fn, op) => {
  const xv = values([9, 7], name === tf.Sqrt ? 2 : 1).map(Math.abs);
  const x = tf.tensor(xv, [9, 7]);
  const y = fn(x);
  expect(y.shape).toEqual([9, 7]);
  expect(Array.from(y.dataSync())).toEqual(Array.from(xv, (v) => Math.fround(op(v))));
  const backend = tf.backend();
  const stock = stockKernel(name, 'cpu', 'test')({ inputs: { x }, backend, attrs: {} }) as tf.TensorInfo;
  expect(Array.from(y.dataSync())).toEqual(Array.from(backend.readSync(stock.dataId) as Float32Array));
  backend.disposeData(stock.dataId);
  tf.dispose([x, y]);
});

test('AddN: float32 running sum, as the stock kernel', () => {
  const xs = [1, 2, 3].map((s) => tf.tensor(values([4, 6], s), [4, 6]));
  const y = tf.addN(xs);
  const expected = new Float32Array(24);
  for (const x of xs) {
    const v = x.dataSync();
    for (let i = 0; i < 24; i++) expected[i] += v[i];
  }
  expect(Array.from(y.dataSync())).toEqual(Array.from(expected));
  tf.dispose([...xs, y]);
});

test('every kernel is the one registered on the cpu backend', () => {
  for (const c of elementwiseCpuConfigs) expect(tf.getKernel(c.kernelName, 'cpu')?.kernelFunc).toBe(c.kernelFunc);
});

describe('large operands: the native ewBinary where the addon is loaded', () => {
  const N = 70001; // above the threading threshold, odd
  /** Ordinary values with subnormals, values whose products and quotients underflow to them, ±0, ±∞, NaN. */
  function special(seed: number): Float32Array {
    const v = values([N], seed);
    const extra = [1e-40, -3e-39, 1e-20, -2e-19, 1.5e-38, 0, -0, Infinity, -Infinity, NaN, 3e38, -3e38];
    for (let i = 0; i < N; i += 7) v[i] = extra[(i / 7 + seed) % extra.length];
    return v;
  }

  test.each(BINARY)('%s: whole and scalar operands, the stock kernel bit for bit', (name, fn) => {
    const load = loadNativeAddon();
    const spy = load.ok ? jest.spyOn(load.addon, 'ewBinary') : null;
    resetNativeElementwise();
    const backend = tf.backend();
    for (const [as, bs] of [[[N], [N]], [[N], []], [[], [N]], [[1, N], [N]]] as number[][][]) {
      const a = tf.tensor(as.length === 0 ? [1e-20] : special(1), as);
      const b = tf.tensor(bs.length === 0 ? [-3e-19] : special(2), bs);
      const y = fn(a, b);
      const stock = stockKernel(name, 'cpu', 'test')({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
      expect(y.shape).toEqual(stock.shape);
      // The first differing element (Object.is: NaN equals NaN, −0 differs from +0), not a
      // diff of 70k-element arrays.
      const got = y.dataSync();
      const want = backend.readSync(stock.dataId) as Float32Array;
      const bad = want.findIndex((w, i) => !Object.is(w, got[i]));
      expect(bad < 0 ? null : { index: bad, got: got[bad], want: want[bad] }).toBeNull();
      backend.disposeData(stock.dataId);
      tf.dispose([a, b, y]);
    }
    if (spy) expect(spy).toHaveBeenCalledTimes(4);
    spy?.mockRestore();
    resetNativeElementwise();
  });
});
