/**
 * Per-kernel time of one run of `f` (tf.profile), summed by kernel name, largest first.
 * Entries that are not kernels of the backend (custom-gradient wrappers, which tf.profile reports
 * under their scope name with the time of the kernels inside them) are listed apart, so the
 * kernel total is not counted twice.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelTotal {
  name: string;
  calls: number;
  ms: number;
}

export interface KernelProfile {
  totals: KernelTotal[];
  /** Wrapper entries (time already included in the kernels they ran). */
  wrappers: KernelTotal[];
  /** Kernels split by input shapes (`name [a×b, c×d]`), largest first. */
  byShape: KernelTotal[];
  wallMs: number;
  /** Most tensor bytes alive at once during `f` (tfjs' own count; the wasm heap is larger). */
  peakTensorBytes: number;
}

export async function profileKernels(f: () => void): Promise<KernelProfile> {
  const t0 = process.hrtime.bigint();
  const info = await tf.profile(() => {
    f();
    return [];
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const byName = new Map<string, KernelTotal>();
  const byShapeMap = new Map<string, KernelTotal>();
  const add = (m: Map<string, KernelTotal>, key: string, ms: number): void => {
    const t = m.get(key) ?? { name: key, calls: 0, ms: 0 };
    t.calls++;
    t.ms += ms;
    m.set(key, t);
  };
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    add(byName, k.name, ms);
    const shapes = (k.inputShapes ?? []).map((s) => (s ?? []).join('×')).join(', ');
    add(byShapeMap, `${k.name} [${shapes}]`, ms);
  }
  const all = [...byName.values()].sort((a, b) => b.ms - a.ms);
  const backend = tf.getBackend();
  const isKernel = (t: KernelTotal): boolean => tf.getKernel(t.name, backend) !== undefined;
  const kernelNames = new Set(all.filter(isKernel).map((t) => t.name));
  const byShape = [...byShapeMap.values()]
    .filter((t) => kernelNames.has(t.name.slice(0, t.name.indexOf(' '))))
    .sort((a, b) => b.ms - a.ms);
  return {
    totals: all.filter(isKernel),
    wrappers: all.filter((t) => !isKernel(t)),
    byShape,
    wallMs,
    peakTensorBytes: info.peakBytes,
  };
}
