/**
 * Memory figures for the benchmarks: the process's peak resident set (which includes the wasm
 * heap: it is ordinary process memory that never shrinks) and the wasm heap's current size.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Peak RSS of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Size of the wasm heap in bytes, or 0 when the backend is not wasm. */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array; wasmMemory?: { buffer: ArrayBufferLike } } };
  const buf = b.wasm?.wasmMemory?.buffer ?? b.wasm?.HEAPU8?.buffer;
  return buf?.byteLength ?? 0;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
