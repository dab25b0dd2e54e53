/**
 * `BatchMatMul` and `_FusedMatMul` kernel functions on the native GEMM, for any backend that
 * can hand out its float32 tensors as typed arrays (see `BackendAdapter`). What they do not
 * cover (non-float32, rank < 2, PReLU/ELU/sigmoid activations, biases that are neither one
 * value nor one row of N) goes to the stock kernel they replaced.
 */
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import type { NativeAddon } from './addon';
import { type BufferRef, type GemmEpilogue, isFusedActivation, runGemm } from './gemm';
import { planMatMul } from './plan';

type KernelArgs = Parameters<KernelFunc>[0];

/** How a backend exposes tensor memory to native code. */
export interface BackendAdapter {
  /**
   * Allocates a float32 output of `shape`, then resolves the locations of `inputs` and the
   * output (in that order: allocation may move memory), calls `compute`, and returns the output.
   */
  withOutput(
    backend: unknown,
    shape: number[],
    inputs: TensorInfo[],
    compute: (inputs: BufferRef[], out: BufferRef) => void,
  ): TensorInfo;
  /**
   * The same for several float32 outputs (all allocated before any location is resolved).
   * Inputs may be any dtype; their buffers are the backend's own typed memory.
   */
  withOutputs(
    backend: unknown,
    shapes: number[][],
    inputs: TensorInfo[],
    compute: (inputs: BufferRef[], outs: BufferRef[]) => void,
  ): TensorInfo[];
  /** Resolves the locations of `inputs` (the backend's own typed memory) and calls `read`. */
  withInputs<T>(backend: unknown, inputs: readonly TensorInfo[], read: (inputs: BufferRef[]) => T): T;
}

export interface StockKernels {
  batchMatMul?: KernelFunc;
  fusedMatMul?: KernelFunc;
}

function attrBool(attrs: NamedAttrMap | undefined, key: string): boolean {
  return attrs?.[key] === true;
}

function stockOrThrow(k: KernelFunc | undefined, name: string, args: KernelArgs): ReturnType<KernelFunc> {
  if (k === undefined) throw new PtflowError(`${name}: case not covered by native kernels and no stock kernel to fall back to`);
  return k(args);
}

const numel = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

export function makeMatMulKernels(
  adapter: BackendAdapter,
  addon: NativeAddon,
  stock: StockKernels,
): { batchMatMul: KernelFunc; fusedMatMul: KernelFunc } {
  const matmul = (args: KernelArgs, a: TensorInfo, b: TensorInfo, epilogue: (n: number) => GemmEpilogue | null, extra?: TensorInfo) => {
    const plan = planMatMul(a.shape, b.shape, attrBool(args.attrs, 'transposeA'), attrBool(args.attrs, 'transposeB'));
    const ep = epilogue(plan.N);
    if (ep === null) return null;
    const inputs = extra === undefined ? [a, b] : [a, b, extra];
    return adapter.withOutput(args.backend, plan.outShape, inputs, (refs, out) => {
      if (numel(plan.outShape) === 0) return;
      const e: GemmEpilogue = ep.bias !== undefined ? { ...ep, bias: { ...refs[2], mode: ep.bias.mode } } : ep;
      runGemm(addon, plan, refs[0], refs[1], out, e);
    });
  };

  const supported = (a: TensorInfo, b: TensorInfo): boolean =>
    a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length >= 2 && b.shape.length >= 2;

  const batchMatMul: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!supported(a, b)) return stockOrThrow(stock.batchMatMul, 'BatchMatMul', args);
    return matmul(args, a, b, () => ({})) ?? stockOrThrow(stock.batchMatMul, 'BatchMatMul', args);
  };

  const fusedMatMul: KernelFunc = (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: TensorInfo;
      b: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const activation = args.attrs?.['activation'] ?? 'linear';
    const alpha = args.attrs?.['leakyreluAlpha'];
    if (!supported(a, b) || preluActivationWeights != null || !isFusedActivation(activation) || (bias != null && bias.dtype !== 'float32')) {
      return stockOrThrow(stock.fusedMatMul, '_FusedMatMul', args);
    }
    const out = matmul(
      args,
      a,
      b,
      (n) => {
        const ep: GemmEpilogue = { activation, leakyreluAlpha: typeof alpha === 'number' ? alpha : 0.2 };
        if (bias == null) return ep;
        const count = numel(bias.shape);
        const rowLike = bias.shape.slice(0, -1).every((d) => d === 1);
        if (count === 1) return { ...ep, bias: { array: new Float32Array(0), byteOffset: 0, mode: 'scalar' } };
        if (rowLike && count === n) return { ...ep, bias: { array: new Float32Array(0), byteOffset: 0, mode: 'perColumn' } };
        return null;
      },
      bias ?? undefined,
    );
    return out ?? stockOrThrow(stock.fusedMatMul, '_FusedMatMul', args);
  };

  return { batchMatMul, fusedMatMul };
}
