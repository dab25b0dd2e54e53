/**
 * Float32 matmul throughput of the current backend: median GFLOP/s of `reps` timed n×n×n
 * products (after 2 untimed ones), each read back so the time covers the whole computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { median, startLap } from './stats';

export interface MatmulResult {
  n: number;
  reps: number;
  medianMs: number;
  gflops: number;
  /** Median CPU time (all threads) per product, and GFLOP per CPU-second. */
  medianCpuMs: number;
  gflopsPerCpuS: number;
}

export function measureMatmul(n = 1024, reps = 10): MatmulResult {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const lap = startLap();
    const c = tf.matMul(a, b);
    c.dataSync();
    const { wallMs, cpuMs } = lap();
    c.dispose();
    if (i >= 2) {
      walls.push(wallMs);
      cpus.push(cpuMs);
    }
  }
  a.dispose();
  b.dispose();
  const flop = 2 * n * n * n;
  const medianMs = median(walls);
  const medianCpuMs = median(cpus);
  return { n, reps, medianMs, gflops: flop / (medianMs * 1e6), medianCpuMs, gflopsPerCpuS: flop / (medianCpuMs * 1e6) };
}
