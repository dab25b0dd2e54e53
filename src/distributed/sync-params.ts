/**
 * Data-parallel start: every rank takes rank 0's parameter values, so all ranks start identical
 * whatever each loaded or initialised (torch DDP broadcasts its module's state at construction the
 * same way). One broadcast per parameter, in the model's order on every rank, through one buffer
 * the size of the largest: a fresh buffer per parameter would cost a page fault per 4 KiB written,
 * more than the copy (src/engine/tensor-io.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { readFloat32Into, tensorFromFloat32 } from '../engine/tensor-io';
import type { Collective } from './collective';

export async function broadcastParameters(params: Iterable<[string, tf.Variable]>, c: Collective): Promise<void> {
  if (c.size === 1) return;
  const vars = [...params].map(([, v]) => v);
  const staging = new Float32Array(Math.max(0, ...vars.map((v) => v.size)));
  for (const v of vars) {
    const buf = staging.subarray(0, v.size);
    if (c.rank === 0) readFloat32Into(v, buf);
    await c.broadcast(buf, 0);
    if (c.rank !== 0) {
      const t = tensorFromFloat32(buf, v.shape);
      v.assign(t);
      t.dispose();
    }
  }
}
