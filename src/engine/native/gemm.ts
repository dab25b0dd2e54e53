/**
 * Typed front of the native GEMM: turns a `MatMulPlan` plus buffer locations into the addon's
 * descriptor (one scratch Float64Array, no allocation per call). Both backends' kernels and
 * the benchmark call `runGemm`.
 */
import type { NativeAddon } from './addon';
import type { MatMulPlan } from './plan';

export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'leakyrelu';

const ACTIVATION_CODE: Record<FusedActivation, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };

export function isFusedActivation(x: unknown): x is FusedActivation {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATION_CODE, x);
}

/** Where an operand lives: a typed array (any view of the memory) and a byte offset into it. */
export interface BufferRef {
  array: ArrayBufferView;
  byteOffset: number;
}

export interface GemmEpilogue {
  /** Added to each output row: `N` values (perColumn) or one value (scalar). */
  bias?: BufferRef & { mode: 'perColumn' | 'scalar' };
  activation?: FusedActivation;
  leakyreluAlpha?: number;
}

const desc = new Float64Array(15);

export function runGemm(
  addon: NativeAddon,
  plan: MatMulPlan,
  a: BufferRef,
  b: BufferRef,
  c: BufferRef,
  epilogue: GemmEpilogue = {},
): void {
  desc[0] = plan.batch;
  desc[1] = plan.M;
  desc[2] = plan.N;
  desc[3] = plan.K;
  desc[4] = plan.transA ? 1 : 0;
  desc[5] = plan.transB ? 1 : 0;
  desc[6] = plan.lda;
  desc[7] = plan.ldb;
  desc[8] = plan.ldc;
  desc[9] = plan.strideA;
  desc[10] = plan.strideB;
  desc[11] = plan.strideC;
  const bias = epilogue.bias;
  desc[12] = bias === undefined ? 0 : bias.mode === 'perColumn' ? 1 : 2;
  desc[13] = ACTIVATION_CODE[epilogue.activation ?? 'linear'];
  desc[14] = epilogue.leakyreluAlpha ?? 0.2;
  addon.gemm(
    a.array,
    a.byteOffset,
    b.array,
    b.byteOffset,
    c.array,
    c.byteOffset,
    desc,
    bias?.array ?? null,
    bias?.byteOffset ?? 0,
    plan.batchOffsets ?? null,
  );
}
