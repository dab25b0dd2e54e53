/**
 * Data-parallel start: every rank takes rank 0's parameter values, so all ranks start identical
 * whatever each loaded or initialised (torch DDP broadcasts its module's state at construction the
 * same way). One broadcast per parameter, in the model's order on every rank.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Collective } from './collective';

export async function broadcastParameters(params: Iterable<[string, tf.Variable]>, c: Collective): Promise<void> {
  if (c.size === 1) return;
  for (const [, v] of params) {
    const buf = Float32Array.from(v.dataSync() as Float32Array);
    await c.broadcast(buf, 0);
    if (c.rank !== 0) {
      const t = tf.tensor(buf, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
  }
}
