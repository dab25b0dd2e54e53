/**
 * Σ over tensors of Σ x² for the global gradient norm, read in place from the backend's memory
 * (wasm and cpu backends, zero-copy) by the native `sumSquares`: float64 sums in an order fixed
 * by each tensor's size alone (native/src/sumsq.h), threaded, so the norm is the same for any
 * thread count. One pass over each gradient instead of the stock `square` (a full-size float32
 * temporary), `sum` and `addN`. `nativeSumOfSquares` returns null where it cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

type SumSqAddon = NativeAddon & Required<Pick<NativeAddon, 'sumSquares'>>;

function sumSqAddon(): SumSqAddon | undefined {
  const load = loadNativeAddon();
  return load.ok && typeof load.addon.sumSquares === 'function' ? (load.addon as SumSqAddon) : undefined;
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

/**
 * Σ_t Σ_i t_i² over `tensors` (float32, on the current backend), each tensor's sum in float64 and
 * the tensors' sums added in float64 in the given order; null where the native kernel cannot run
 * (no addon, a backend other than wasm or cpu, a tensor not float32).
 */
export function nativeSumOfSquares(tensors: readonly tf.Tensor[]): number | null {
  const addon = sumSqAddon();
  const name = tf.getBackend();
  if (addon === undefined || (name !== 'wasm' && name !== 'cpu')) return null;
  if (tensors.some((t) => t.dtype !== 'float32')) return null;
  return ADAPTERS[name].withInputs(tf.backend(), tensors, (refs) => {
    let total = 0;
    refs.forEach((r, i) => {
      total += addon.sumSquares(r.array, r.byteOffset, tensors[i].size);
    });
    return total;
  });
}
