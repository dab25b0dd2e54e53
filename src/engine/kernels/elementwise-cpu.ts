/**
 * Element-wise kernels for tfjs-backend-cpu that run at typed-array speed. The stock ones call
 * one shared `op(a, b)` closure per element (a call site every binary op shares, so V8 cannot
 * inline it) and take `i % length` per element; broadcasting ones compute an index vector per
 * element. In a training step with the native matmul, attention, RMSNorm, RoPE, cross-entropy
 * and AdamW kernels, tf.profile attributed ~70 % of the cpu backend's kernel time to them
 * (bench/profile-step.ts, reference model); with these the step ran 1.29× faster end to end
 * (bench/beyond-heap.ts, same run). Here every op has its own loop.
 *
 * Values are those of the stock kernels bit for bit: the same formula in double precision,
 * rounded once to float32 on store (`1 / (1 + Math.exp(-x))` for sigmoid, `outVals[j] += v` in
 * float32 for AddN). Cases not covered (non-float32, complex, a broadcast that is neither a scalar
 * nor a contiguous row/column pattern, an empty output) go to the stock kernel (kernels/stock.ts).
 * Outputs come from the cpu buffer pool (cpu-buffer-pool.ts).
 *
 * Add, Sub, Multiply and RealDiv of operands that are whole or scalar, from `NATIVE_MIN`
 * elements, run in the native addon where it is loaded (`ewBinary`, threaded, float32
 * arithmetic with subnormals kept: the same values, since a float64 +, −, × or ÷ of two float32
 * values rounds to the float32 result).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon, type NativeAddon } from '../native/addon';
import { allocFloat32 } from './cpu-buffer-pool';
import { stockKernel } from './stock';

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown; complexTensorInfos?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

type F32 = Float32Array;
/** out[k] for k = o·inner + j reads a[o·aos + j·ais] and b[o·bos + j·bis]. */
type BinaryLoop = (a: F32, b: F32, out: F32, outer: number, inner: number, aos: number, ais: number, bos: number, bis: number) => void;

// One loop per op: each call site stays monomorphic and the arithmetic inlines.
const addLoop: BinaryLoop = (a, b, out, outer, inner, aos, ais, bos, bis) => {
  let k = 0;
  for (let o = 0; o < outer; o++) {
    let ai = o * aos;
    let bi = o * bos;
    for (let j = 0; j < inner; j++, k++, ai += ais, bi += bis) out[k] = a[ai] + b[bi];
  }
};
const subLoop: BinaryLoop = (a, b, out, outer, inner, aos, ais, bos, bis) => {
  let k = 0;
  for (let o = 0; o < outer; o++) {
    let ai = o * aos;
    let bi = o * bos;
    for (let j = 0; j < inner; j++, k++, ai += ais, bi += bis) out[k] = a[ai] - b[bi];
  }
};
const mulLoop: BinaryLoop = (a, b, out, outer, inner, aos, ais, bos, bis) => {
  let k = 0;
  for (let o = 0; o < outer; o++) {
    let ai = o * aos;
    let bi = o * bos;
    for (let j = 0; j < inner; j++, k++, ai += ais, bi += bis) out[k] = a[ai] * b[bi];
  }
};
const divLoop: BinaryLoop = (a, b, out, outer, inner, aos, ais, bos, bis) => {
  let k = 0;
  for (let o = 0; o < outer; o++) {
    let ai = o * aos;
    let bi = o * bos;
    for (let j = 0; j < inner; j++, k++, ai += ais, bi += bis) out[k] = a[ai] / b[bi];
  }
};

export const numel = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * How `x` (of `shape`) is read for each element of an output of `out` shape, given the output
 * split as outer × `inner`: [outerStride, innerStride], or null when the pattern is not covered.
 */
function strides(shape: number[], out: number[], inner: number): [number, number] | null {
  const size = numel(shape);
  const total = numel(out);
  if (size === total) return [inner, 1];
  if (size === 1) return [0, 0];
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  // Row: x matches out on the trailing dims, 1 on the leading ones (x repeats every `size`).
  if (inner === size && padded.every((d, i) => d === out[i] || (d === 1 && padded.slice(0, i + 1).every((e) => e === 1)))) {
    return [0, 1];
  }
  // Column: x matches out on the leading dims, 1 on the trailing ones (each value held `inner` times).
  if (total / size === inner && padded.every((d, i) => d === out[i] || (d === 1 && padded.slice(i).every((e) => e === 1)))) {
    return [1, 0];
  }
  return null;
}

/** The outer × inner split for a broadcast operand of `size` (row or column pattern). */
function splits(size: number, total: number): number[] {
  return size === total || size === 1 ? [total] : [size, total / size];
}

function f32(b: CpuBackendLike, t: TensorInfo): F32 | null {
  if (t.dtype !== 'float32') return null;
  const d = b.data.get(t.dataId);
  return d?.values instanceof Float32Array && d.complexTensorInfos == null ? d.values : null;
}

/** Outputs from this many elements go to the native `ewBinary` (N-API call ~1 µs). */
export const NATIVE_MIN = 1 << 14;

let nativeBinary: NativeAddon['ewBinary'] | null | undefined;

/** The addon's ewBinary, or null without it (looked up once). */
export function ewBinary(): NativeAddon['ewBinary'] | null {
  if (nativeBinary === undefined) {
    const load = loadNativeAddon();
    nativeBinary = load.ok && typeof load.addon.ewBinary === 'function' ? load.addon.ewBinary.bind(load.addon) : null;
  }
  return nativeBinary;
}

/** Forget the looked-up addon (tests that load or unload it). */
export function resetNativeElementwise(): void {
  nativeBinary = undefined;
}

function binaryKernel(kernelName: string, loop: BinaryLoop, nativeOp: number): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const backend = args.backend as unknown as CpuBackendLike;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (av !== null && bv !== null) {
      const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const total = numel(out);
      const native = total >= NATIVE_MIN ? ewBinary() : null;
      if (native != null && (av.length === total || av.length === 1) && (bv.length === total || bv.length === 1)) {
        const values = allocFloat32(total);
        native(nativeOp, av, 0, bv, 0, values, 0, total, av.length === 1, bv.length === 1);
        return backend.makeTensorInfo(out, 'float32', values);
      }
      // Try the splits either operand's broadcast pattern asks for.
      for (const inner of new Set([...splits(av.length, total), ...splits(bv.length, total)])) {
        if (total > 0 && inner === 0) continue;
        const sa = strides(a.shape, out, inner);
        const sb = strides(b.shape, out, inner);
        if (sa === null || sb === null) continue;
        const values = allocFloat32(total);
        if (total > 0) loop(av, bv, values, total / inner, inner, sa[0], sa[1], sb[0], sb[1]);
        return backend.makeTensorInfo(out, 'float32', values);
      }
    }
    return stockKernel(kernelName, 'cpu', 'case not covered by the typed-array kernel')(args);
  };
  return { kernelName, backendName: 'cpu', kernelFunc };
}

type UnaryLoop = (x: F32, out: F32) => void;

function unaryKernel(kernelName: string, loop: UnaryLoop): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend as unknown as CpuBackendLike;
    const xv = f32(backend, x);
    if (xv === null) return stockKernel(kernelName, 'cpu', 'case not covered by the typed-array kernel')(args);
    const values = allocFloat32(xv.length);
    loop(xv, values);
    return backend.makeTensorInfo(x.shape.slice(), 'float32', values);
  };
  return { kernelName, backendName: 'cpu', kernelFunc };
}

const addNKernel: KernelConfig = {
  kernelName: tf.AddN,
  backendName: 'cpu',
  kernelFunc: (args) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const backend = args.backend as unknown as CpuBackendLike;
    const vals = inputs.map((t) => f32(backend, t));
    if (inputs.length === 0 || vals.some((v) => v === null)) return stockKernel(tf.AddN, 'cpu', 'case not covered by the typed-array kernel')(args);
    const out = allocFloat32(numel(inputs[0].shape), true);
    for (const v of vals as F32[]) for (let j = 0; j < out.length; j++) out[j] += v[j];
    return backend.makeTensorInfo(inputs[0].shape.slice(), 'float32', out);
  },
};

export const elementwiseCpuConfigs: KernelConfig[] = [
  binaryKernel(tf.Add, addLoop, 0),
  binaryKernel(tf.Sub, subLoop, 1),
  binaryKernel(tf.Multiply, mulLoop, 2),
  binaryKernel(tf.RealDiv, divLoop, 3),
  unaryKernel(tf.Sigmoid, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  }),
  unaryKernel(tf.Square, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * x[i];
  }),
  unaryKernel(tf.Neg, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = -x[i];
  }),
  unaryKernel(tf.Sqrt, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]);
  }),
  unaryKernel(tf.Exp, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]);
  }),
  addNKernel,
];
