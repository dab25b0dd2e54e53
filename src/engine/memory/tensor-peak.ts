/**
 * Peak bytes of the cpu backend's tensor memory: the distinct ArrayBuffers its live tensors hold.
 * The wasm backend's heap has its own count (out-of-memory.ts `wasmHeapUsage`); this is the cpu
 * backend's, whose tensors are JavaScript typed arrays. tfjs's own count (`tf.memory().numBytes`)
 * does not serve: it counts every tensor's bytes, also where several share one buffer (Identity,
 * contiguous slices are views), 60–70 % above the memory held in a training step.
 *
 * Works by following the backend's data store (`set` / `delete` of tfjs-core 4.x DataStorage).
 * Also the peak of those bytes plus the freed buffers ptflow's output pool holds for reuse
 * (kernels/cpu-buffer-pool.ts), the memory the estimate counts on cpu. Other buffers freed by
 * tfjs stay in the process until V8 collects them; peak RSS is measured apart.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuBufferPoolStats } from '../kernels/cpu-buffer-pool';
import { followStoreBuffers, type BufferStore } from './store-buffers';

const usage = { inUse: 0, peak: 0, peakWithPool: 0 };
const pooled = (): number => cpuBufferPoolStats().pooledBytes;

/**
 * Start following the cpu backend's tensor buffers (idempotent; the backend must be running and
 * be `cpu`). Tensors that existed before are not counted.
 */
export function trackCpuTensorMemory(): void {
  const store = (tf.backend() as unknown as { data?: BufferStore }).data;
  if (tf.getBackend() !== 'cpu' || store == null || typeof store.set !== 'function') {
    throw new Error('trackCpuTensorMemory: the current backend is not tfjs-backend-cpu');
  }
  followStoreBuffers(store, 'ptflowPeakTracking', {
    taken(buf) {
      usage.inUse += buf.byteLength;
      if (usage.inUse > usage.peak) usage.peak = usage.inUse;
      // The sum grows only here: a buffer taken from the pool left it just before.
      if (usage.inUse + pooled() > usage.peakWithPool) usage.peakWithPool = usage.inUse + pooled();
    },
    released(buf) {
      usage.inUse -= buf.byteLength;
    },
  });
}

/**
 * Bytes of the buffers live tensors hold now and the most since tracking began or the last reset;
 * the same with the output pool's freed buffers added (`withPool`, `peakWithPool`).
 */
export function cpuTensorMemory(): { inUse: number; peak: number; withPool: number; peakWithPool: number } {
  return { ...usage, withPool: usage.inUse + pooled() };
}

/** Start new peaks at the bytes in use now. */
export function resetCpuTensorPeak(): void {
  usage.peak = usage.inUse;
  usage.peakWithPool = usage.inUse + pooled();
}
