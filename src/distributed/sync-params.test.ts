/**
 * The start-of-run broadcast: every rank ends with rank 0's values, parameter by parameter, whatever
 * it held before (ranks simulated in one thread, inMemoryWorld). Parameters of different sizes share
 * one staging buffer, so a wrong slice length or a stale tail would show as a wrong value here.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { broadcastParameters } from './sync-params';
import { inMemoryWorld } from './testing/in-memory-world';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const shapes: number[][] = [[3, 5], [7], [2, 2], [11, 3]];
/** Rank r's own values for parameter i: distinct per rank, per parameter and per element. */
const valuesOf = (rank: number, i: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, k) => rank * 1000 + i * 100 + k + 0.25);

it("gives every rank rank 0's values for each parameter, the largest first or last", async () => {
  for (const order of [shapes, [...shapes].reverse()]) {
    const world = inMemoryWorld(3);
    const params = world.map((c) => order.map((s, i): [string, tf.Variable] => {
      const n = s.reduce((a, b) => a * b, 1);
      return [`p${i}`, tf.variable(tf.tensor(valuesOf(c.rank, i, n), s), true, `r${c.rank}p${i}${order === shapes ? 'a' : 'b'}`)];
    }));
    await Promise.all(world.map((c, r) => broadcastParameters(params[r], c)));
    for (const ps of params) {
      for (const [i, [, v]] of ps.entries()) {
        expect(v.shape).toEqual(order[i]);
        expect(Array.from(v.dataSync())).toEqual(Array.from(valuesOf(0, i, v.size)));
        v.dispose();
      }
    }
  }
});

it('does nothing in a world of one', async () => {
  const v = tf.variable(tf.tensor([1, 2, 3]));
  await broadcastParameters([['p', v]], { rank: 0, size: 1 } as never);
  expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
  v.dispose();
});
