/**
 * Per-kernel time of one run of `f` (tf.profile), summed by kernel name, largest first.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelTotal {
  name: string;
  calls: number;
  ms: number;
}

export async function profileKernels(f: () => void): Promise<{ totals: KernelTotal[]; wallMs: number }> {
  const t0 = process.hrtime.bigint();
  const info = await tf.profile(() => {
    f();
    return [];
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const byName = new Map<string, KernelTotal>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = k.name;
    const t = byName.get(key) ?? { name: key, calls: 0, ms: 0 };
    t.calls++;
    t.ms += ms;
    byName.set(key, t);
  }
  return { totals: [...byName.values()].sort((a, b) => b.ms - a.ms), wallMs };
}
