/**
 * Float32 matmul throughput of the current backend: median GFLOP/s of `reps` timed n×n×n
 * products (after 2 untimed ones), each read back so the time covers the whole computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { median, msSince } from './stats';

export interface MatmulResult {
  n: number;
  reps: number;
  medianMs: number;
  gflops: number;
}

export function measureMatmul(n = 1024, reps = 10): MatmulResult {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const times: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t0 = process.hrtime.bigint();
    const c = tf.matMul(a, b);
    c.dataSync();
    const ms = msSince(t0);
    c.dispose();
    if (i >= 2) times.push(ms);
  }
  a.dispose();
  b.dispose();
  const medianMs = median(times);
  return { n, reps, medianMs, gflops: (2 * n * n * n) / (medianMs * 1e6) };
}
