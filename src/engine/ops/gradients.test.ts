import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import './gradients';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

test('Add / Sub / Multiply reduce over broadcast axes', () => {
  const a = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  const b = tf.tensor1d([10, 20]);
  const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.sub(tf.add(x, y), y), y)))([a, b]);
  // f = Σ x·y (the add and sub cancel in value, not in the graph): ∂/∂x = y, ∂/∂y = Σ_rows x
  expect(arr(da)).toEqual([10, 20, 10, 20]);
  expect(arr(db)).toEqual([4, 6]);
  const ds = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, 3)))(b);
  expect(arr(ds)).toEqual([3, 3]);
});

test('Reshape, Transpose, Pack, Unpack route gradients back to their sources', () => {
  const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  const w = tf.tensor2d([1, 10, 100, 1000, 1e4, 1e5], [3, 2]);
  const dx = tf.grad((t: tf.Tensor) => {
    const tr = tf.transpose(tf.reshape(t, [2, 3]), [1, 0]); // [3, 2]
    const parts = tf.unstack(tr); // 3 × [2]
    return tf.sum(tf.mul(tf.stack([parts[2], parts[0], parts[1]]), w));
  })(x);
  // restacked row r holds tr[(r+2)%3] → tr[c] has weight w[(c+1)%3]; x[i][c] = tr[c][i]
  // dX[i][c] = w[(c+1)%3][i]
  expect(arr(dx)).toEqual([100, 1e4, 1, 1000, 1e5, 10]);
});

test('Softmax: dX = y·(dY − Σ dY·y)', () => {
  const z = tf.tensor2d([[0, Math.log(3)]]);
  const g = tf.tensor2d([[1, 0]]);
  const d = arr(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), g)))(z));
  // y = [1/4, 3/4]; Σ dY·y = 1/4 → dX = [1/4·3/4, 3/4·(−1/4)]
  expect(d[0]).toBeCloseTo(3 / 16, 6);
  expect(d[1]).toBeCloseTo(-3 / 16, 6);
});
