/**
 * Rotary position embedding (Hugging Face rotate-half) as one native kernel (`PtflowRope`, wasm
 * and cpu backends, zero-copy) with a custom gradient (the same kernel with `inverse`): the
 * formulas of `src/engine/ops/rope.ts` without its split, negate, concat and broadcasting
 * multiplies. `nativeRope` returns null where it cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { type NativeAddon, loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import type { BackendAdapter } from './kernels';

export const ROPE_KERNEL = 'PtflowRope';

type RopeAddon = NativeAddon & Required<Pick<NativeAddon, 'rope'>>;

function ropeAddon(): RopeAddon | undefined {
  const load = loadNativeAddon();
  return load.ok && typeof load.addon.rope === 'function' ? (load.addon as RopeAddon) : undefined;
}

function kernel(adapter: BackendAdapter): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, cos, sin } = inputs as { x: TensorInfo; cos: TensorInfo; sin: TensorInfo };
    const [n, heads, d] = x.shape;
    const addon = ropeAddon();
    if (addon === undefined) throw new PtflowError(`${ROPE_KERNEL}: the native addon with the RoPE kernel is not loaded`);
    const inverse = attrs?.['inverse'] === true;
    return adapter.withOutputs(backend, [x.shape], [x, cos, sin], ([rx, rc, rs], [y]) => {
      addon.rope(rx.array, rx.byteOffset, rc.array, rc.byteOffset, rs.array, rs.byteOffset, y.array, y.byteOffset, n, heads, d, inverse);
    })[0];
  };
}

const ADAPTERS: Record<'wasm' | 'cpu', BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

function ensureKernel(backend: string): boolean {
  if (backend !== 'wasm' && backend !== 'cpu') return false;
  if (tf.getKernel(ROPE_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: ROPE_KERNEL, backendName: backend, kernelFunc: kernel(ADAPTERS[backend]) });
  }
  return true;
}

/**
 * `x·cos + rotate_half(x)·sin` for `x` [n, heads, d] and tables `cos`, `sin` [n, 1, d],
 * differentiable in `x`; null where the native kernel cannot run.
 */
export function nativeRope(x: tf.Tensor3D, cos: tf.Tensor3D, sin: tf.Tensor3D): tf.Tensor3D | null {
  if (ropeAddon() === undefined || !ensureKernel(tf.getBackend())) return null;
  if ([x, cos, sin].some((t) => t.dtype !== 'float32')) return null;
  const [n, , d] = x.shape;
  const table = [n, 1, d];
  if (x.rank !== 3 || d % 2 !== 0 || [cos, sin].some((t) => t.rank !== 3 || t.shape.some((s, i) => s !== table[i]))) {
    throw new PtflowError(
      `rope: x [${x.shape.join(', ')}] needs an even last axis and cos/sin tables [${table.join(', ')}], got [${cos.shape.join(', ')}] and [${sin.shape.join(', ')}]`,
    );
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([cos, sin]);
    return {
      value: tf.engine().runKernel(ROPE_KERNEL, { x: xi, cos, sin }, { inverse: false }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, [c, s]: tf.Tensor[]) => tf.engine().runKernel(ROPE_KERNEL, { x: dy, cos: c, sin: s }, { inverse: true }) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor3D;
}
