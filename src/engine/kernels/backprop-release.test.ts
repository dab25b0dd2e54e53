import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { installBackpropRelease } from './backprop-release';

// Ops with hand-written gradients (no registered gradients needed).
type Fwd = (x: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor };
const op = (f: Fwd): ((x: tf.Tensor) => tf.Tensor) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
// (0.9·x)², d/dx = 1.62·x
const square = op((x, save) => {
  save([x]);
  return { value: tf.mul(tf.mul(x, x), 0.81), gradFunc: (dy, [sx]) => tf.mul(tf.mul(dy, sx), 1.62) };
});
// Gradient is the upstream gradient itself (the same object): must survive the release.
const passThrough = op((x) => ({ value: tf.mul(x, 0.5), gradFunc: (dy) => dy }));
const total = op((x, save) => {
  save([x]);
  return { value: tf.sum(x), gradFunc: (dy, [sx]) => tf.mul(tf.onesLike(sx), dy) };
});

// a + b whose gradient is the same tensor object for both inputs.
const add2 = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => ({
  value: tf.add(a, b),
  gradFunc: (dy: tf.Tensor) => [dy, dy],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

// Two branches joined by add2, each branch with its own producer of the shared gradient.
function g(w: tf.Tensor): tf.Scalar {
  return total(add2(square(w), passThrough(square(w)))) as tf.Scalar;
}

function f(w: tf.Tensor): tf.Scalar {
  let h = w;
  for (let i = 0; i < 12; i++) h = i % 3 === 2 ? passThrough(h) : square(h);
  return total(h) as tf.Scalar;
}

async function run(w: tf.Variable, dy?: tf.Scalar, fn = f): Promise<{ grad: ArrayLike<number>; peak: number }> {
  let grad: ArrayLike<number> = [];
  const info = await tf.profile(() => {
    const g = dy ? tf.grad(fn)(w, dy) : tf.grad(fn)(w);
    grad = g.dataSync();
    g.dispose();
    return [];
  });
  return { grad, peak: info.peakBytes };
}

describe('installBackpropRelease', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    (tf.backend() as { firstUse?: boolean }).firstUse = false;
  });

  test('same gradients, lower peak, no leaks; caller tensors and aliases survive', async () => {
    const w = tf.variable(tf.randomUniform([128, 128], 0.5, 1, 'float32', 3));
    const stock = await run(w);
    const stockJoined = await run(w, undefined, g);
    const n0 = tf.memory().numTensors;

    installBackpropRelease();
    installBackpropRelease(); // idempotent
    const released = await run(w);
    expect(Array.from(released.grad)).toEqual(Array.from(stock.grad));
    // Stock peaks at the end of the backward pass (every upstream gradient and saved input of
    // the 12 ops alive: ~1.9 MB); released, the peak is the forward pass's (its outputs and
    // saved inputs: ~1.5 MB).
    expect(released.peak).toBeLessThan(stock.peak * 0.85);
    expect(tf.memory().numTensors).toBe(n0);
    // One gradient object for two inputs: each branch still gets it.
    expect(Array.from((await run(w, undefined, g)).grad)).toEqual(Array.from(stockJoined.grad));
    expect(tf.memory().numTensors).toBe(n0);

    // A dy passed in by the caller is not disposed.
    const dy = tf.scalar(2);
    const withDy = await run(w, dy);
    expect(dy.isDisposed).toBe(false);
    expect(Array.from(withDy.grad)).toEqual(Array.from(stock.grad).map((g) => Math.fround(g * 2)));
    dy.dispose();
    w.dispose();
  });
});
