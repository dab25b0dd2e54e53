import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { clipByGlobalNorm, globalNorm } from './clip';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Hand-computed: ‖(3, 4)‖² + ‖(12)‖² = 25 + 144 = 169 → norm 13.
const mk = (): Map<string, tf.Tensor> => new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 4])], ['b', tf.tensor2d([[12]])]]);

describe('clipByGlobalNorm', () => {
  test('scales every gradient by maxNorm/(norm+1e-6) and reports the unclipped norm', () => {
    const { grads, norm, coef } = clipByGlobalNorm(mk(), 1);
    expect(norm).toBeCloseTo(13, 5);
    const c = 1 / (13 + 1e-6);
    expect(coef).toBeCloseTo(c, 12);
    expect(Array.from(grads.get('a')!.dataSync())).toEqual([Math.fround(3 * c), Math.fround(4 * c)].map((x) => expect.closeTo(x, 7)));
    expect(grads.get('b')!.dataSync()[0]).toBeCloseTo(12 * c, 6);
    expect(globalNorm(grads)).toBeCloseTo(1, 5);
    grads.forEach((g) => g.dispose());
  });

  test('norm below maxNorm leaves gradients untouched (coef clamped to 1)', () => {
    const input = mk();
    const { grads, norm, coef } = clipByGlobalNorm(input, 100);
    expect(norm).toBeCloseTo(13, 5);
    expect(coef).toBe(1);
    expect(grads.get('a')).toBe(input.get('a'));
    grads.forEach((g) => g.dispose());
  });

  test('maxNorm ≤ 0 disables clipping but still reports the norm', () => {
    const { grads, norm, coef } = clipByGlobalNorm(mk(), 0);
    expect(norm).toBeCloseTo(13, 5);
    expect(coef).toBe(1);
    expect(Array.from(grads.get('a')!.dataSync())).toEqual([3, 4]);
    grads.forEach((g) => g.dispose());
  });

  test('replaced inputs are disposed and nothing leaks', () => {
    const start = tf.memory().numTensors;
    const input = mk();
    const { grads } = clipByGlobalNorm(input, 1);
    expect(input.get('a')!.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(start + 2);
    grads.forEach((g) => g.dispose());
    expect(tf.memory().numTensors).toBe(start);
  });
});
