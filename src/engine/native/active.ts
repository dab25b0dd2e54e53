/**
 * Whether the model's ops should take their native-kernel forms on the current backend: the
 * addon is loaded and its matmul kernels are registered there (then `tf.matMul` with transpose
 * flags costs no transpose, and the fused cross-entropy is available). Benchmarks switch the
 * native op forms off and on in one process with `setNativeOpsEnabled` to compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon } from './addon';
import { isNativeBackend } from './register';

let enabled = true;

/** Turns the native op forms off (`false`) or back on; the native matmul kernels stay. */
export function setNativeOpsEnabled(on: boolean): void {
  enabled = on;
}

/** True when ops should use transpose flags and native fused kernels on the current backend. */
export function nativeOpsActive(): boolean {
  if (!enabled) return false;
  const backend = tf.getBackend();
  return backend !== undefined && isNativeBackend(backend) && loadNativeAddon().ok;
}
