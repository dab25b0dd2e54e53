/**
 * wasm `Add`, `Sub`, `Multiply` and `RealDiv` on both cores. The stock wasm kernels run on one
 * thread whatever the backend's thread count; in a step of the SmolLM-135M shape the residual
 * stream's gradient sums, the head gradient's running sum over its chunks and the clipping
 * multiply took 2–3 % of the main thread that way (bench/kernel-cpu.ts). Float32 operands that are
 * whole or scalar, from `NATIVE_MIN` elements, go to the addon's `ewBinary` (threaded, float32
 * arithmetic with subnormals kept, as wasm's), reading and writing the wasm heap in place; the
 * values are the stock kernels' bit for bit (one correctly rounded float32 operation per element).
 * Other cases (broadcasts, other dtypes, small tensors, no addon) go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmAdapter } from '../native/backend-wasm';
import { ewBinary, NATIVE_MIN, numel } from './elementwise-cpu';
import { stockKernel } from './stock';

function binaryKernel(kernelName: string, nativeOp: number): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype === 'float32' && b.dtype === 'float32') {
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const total = numel(shape);
      const na = numel(a.shape);
      const nb = numel(b.shape);
      const native = total >= NATIVE_MIN && (na === total || na === 1) && (nb === total || nb === 1) ? ewBinary() : null;
      if (native != null) {
        return wasmAdapter.withOutput(args.backend, shape, [a, b], ([x, y], out) => {
          native(nativeOp, x.array, x.byteOffset, y.array, y.byteOffset, out.array, out.byteOffset, total, na === 1, nb === 1);
        });
      }
    }
    return stockKernel(kernelName, 'wasm', 'case not covered by the native kernel')(args);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

export const elementwiseWasmConfigs: KernelConfig[] = [
  binaryKernel(tf.Add, 0),
  binaryKernel(tf.Sub, 1),
  binaryKernel(tf.Multiply, 2),
  binaryKernel(tf.RealDiv, 3),
];
