// The cpu backend's buffer pool: a freed kernel output is handed out again for the next output of
// its length, and never while any tensor (or a view of it) still holds it, never after a reader
// got it through dataSync, never when tfjs did not get it from the pool. Values are checked
// against float64 formulas computed here, and buffer identity through the backend's data store.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { nativeStatus } from '../native';
import { clearCpuBufferPool, cpuBufferPoolStats, setCpuBufferPoolLimit } from './cpu-buffer-pool';

beforeAll(async () => {
  expect((await initBackend('cpu')).name).toBe('cpu');
});
afterAll(async () => {
  setCpuBufferPoolLimit(2 ** 30);
  await shutdownBackend();
});
beforeEach(() => clearCpuBufferPool());

const N = 8192;

/** The backend's own array of `t` (not dataSync: that takes the buffer out of the pool). */
function stored(t: tf.Tensor): Float32Array {
  const v = (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new Error('not a float32 cpu tensor');
  return v;
}

const xs = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * 2);
const ys = Float32Array.from({ length: N }, (_, i) => Math.cos(i * 0.11) + 1.5);

function expectValues(actual: Float32Array, f: (x: number, y: number) => number, rows = N): void {
  for (let i = 0; i < rows; i++) {
    if (actual[i] !== Math.fround(f(xs[i], ys[i]))) throw new Error(`value ${i}: ${actual[i]} != ${Math.fround(f(xs[i], ys[i]))}`);
  }
}

test('a disposed output is reused for the next output of its length, with the new values', () => {
  const x = tf.tensor1d(xs);
  const y = tf.tensor1d(ys);
  const a = tf.add(x, y);
  const buf = stored(a).buffer;
  a.dispose();
  const before = cpuBufferPoolStats().reused;
  const b = tf.mul(x, y);
  expect(stored(b).buffer).toBe(buf);
  expect(cpuBufferPoolStats().reused).toBe(before + 1);
  expectValues(stored(b), (p, q) => p * q);
  tf.dispose([x, y, b]);
});

test('a buffer comes back only when the last tensor holding a view of it is gone', () => {
  const x = tf.tensor2d(xs, [2, N / 2]);
  const y = tf.tensor2d(ys, [2, N / 2]);
  const a = tf.add(x, y);
  const buf = stored(a).buffer;
  const row = tf.slice(a, [0, 0], [1, N / 2]); // contiguous: the stock kernel returns a view
  expect(stored(row).buffer).toBe(buf);
  a.dispose();
  const b = tf.mul(x, y);
  expect(stored(b).buffer).not.toBe(buf);
  expectValues(stored(row), (p, q) => p + q, N / 2);
  row.dispose();
  const c = tf.sub(x, y);
  expect(stored(c).buffer).toBe(buf);
  expectValues(stored(c), (p, q) => p - q);
  tf.dispose([x, y, b, c]);
});

test('an array a reader got through dataSync is never reused', () => {
  const x = tf.tensor1d(xs);
  const y = tf.tensor1d(ys);
  const a = tf.add(x, y);
  const read = a.dataSync() as Float32Array;
  expect(read.buffer).toBe(stored(a).buffer); // the cpu backend hands out its own array
  a.dispose();
  const b = tf.mul(x, y);
  const c = tf.sub(x, y);
  expect(stored(b).buffer).not.toBe(read.buffer);
  expect(stored(c).buffer).not.toBe(read.buffer);
  expectValues(read, (p, q) => p + q);
  tf.dispose([x, y, b, c]);
});

test('arrays the pool did not hand out are not taken in; a zero limit keeps nothing', () => {
  const mine = Float32Array.from(xs);
  const t = tf.tensor1d(mine);
  t.dispose();
  const y = tf.tensor1d(ys);
  const b = tf.add(y, y);
  expect(stored(b).buffer).not.toBe(mine.buffer);
  b.dispose();
  setCpuBufferPoolLimit(0);
  try {
    const c = tf.mul(y, y);
    expect(cpuBufferPoolStats().pooledBytes).toBe(0);
    c.dispose();
    expect(cpuBufferPoolStats().pooledBytes).toBe(0);
  } finally {
    setCpuBufferPoolLimit(2 ** 30);
  }
  y.dispose();
});

test('native kernels write every value of a reused (dirty) output', () => {
  if (!nativeStatus().backends.includes('cpu')) return; // the addon is optional; its own tests cover its absence
  const m = 64;
  const a = tf.tensor2d(Float32Array.from({ length: m * 128 }, (_, i) => ((i * 7) % 13) - 6), [m, 128]);
  const b = tf.tensor2d(Float32Array.from({ length: 128 * m }, (_, i) => ((i * 5) % 11) - 5), [128, m]);
  // Fill a buffer of the product's length with NaN and give it back to the pool.
  const nan = tf.div(tf.zeros([m * m]), tf.zeros([m * m]));
  const buf = stored(nan).buffer;
  nan.dispose();
  const p = tf.matMul(a, b);
  expect(stored(p).buffer).toBe(buf);
  const av = stored(a);
  const bv = stored(b);
  const pv = stored(p);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < 128; k++) s += av[i * 128 + k] * bv[k * m + j];
      expect(pv[i * m + j]).toBe(s); // small integers: exact in float32 whatever the order
    }
  }
  tf.dispose([a, b, p]);
});
