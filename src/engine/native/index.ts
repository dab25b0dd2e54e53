/**
 * ptflow's optional native CPU kernels (N-API addon in native/): a multithreaded GEMM that
 * replaces TensorFlow.js `BatchMatMul` / `_FusedMatMul` on the wasm and cpu backends, a fused
 * softmax cross-entropy (forward and backward) over the vocabulary, fused attention, RMSNorm,
 * RoPE and SwiGLU (forward and backward) and a fused AdamW step.
 *
 *   registerNativeKernels('wasm')  -> { active, reason?, isa? }
 *   nativeStatus()                 -> is the addon usable, which ISA, how many threads
 *   setNativeThreads(n)            -> threads of the one process-wide pool
 *   nativeOpsActive()              -> should ops take their native forms on the current backend
 *   softmaxCrossEntropySum(z, t)   -> fused cross-entropy (stock ops where the addon is absent)
 *   nativeAdamWUpdate(p, g, m, v, h) -> fused AdamW step (null where it cannot run)
 *   nativeAttention(q, k, v, masks, shape) -> fused attention with its gradient (null where it cannot run)
 *   nativeRmsNorm(x, w, eps)       -> fused RMSNorm with its gradient (null where it cannot run)
 *   nativeRope(x, cos, sin)        -> rotary embedding with its gradient (null where it cannot run)
 *   nativeSiluMul(g, u)            -> fused SwiGLU gate with its gradient (null where it cannot run)
 *   nativeSumOfSquares(tensors)    -> Σ x² over tensors in float64, thread-count independent (null where it cannot run)
 *
 * PTFLOW_NATIVE=0 disables it; without the addon everything runs on stock kernels.
 */
import { loadNativeAddon } from './addon';
import { nativeBackends, type NativeBackendName } from './register';

export { isNativeBackend, registerNativeKernels, restoreStockKernels } from './register';
export { nativeOpsActive, setNativeOpsEnabled } from './active';
export { ADAMW_KERNEL, nativeAdamWUpdate } from './adamw';
export { ATTENTION_GRAD_KERNEL, ATTENTION_KERNEL, nativeAttention } from './attention';
export type { NativeAttentionShape } from './attention';
export { RMSNORM_GRAD_KERNEL, RMSNORM_KERNEL, nativeRmsNorm } from './rmsnorm';
export { ROPE_KERNEL, nativeRope } from './rope';
export { SWIGLU_GRAD_KERNEL, SWIGLU_KERNEL, nativeSiluMul } from './swiglu';
export { nativeSumOfSquares } from './sum-squares';
export type { AdamWHyper } from './adamw';
export {
  CE_IGNORE_INDEX,
  crossEntropySumAndGrad,
  nativeCrossEntropyAvailable,
  softmaxCrossEntropy,
  softmaxCrossEntropySum,
  stockSoftmaxCrossEntropy,
} from './cross-entropy';
export type { NativeBackendName, NativeRegistration } from './register';
export { loadNativeAddon, resetNativeAddon } from './addon';
export type { NativeAddon, NativeLoad } from './addon';
export { runGemm } from './gemm';
export type { BufferRef, FusedActivation, GemmEpilogue } from './gemm';
export { planMatMul } from './plan';
export type { MatMulPlan } from './plan';

export interface NativeStatus {
  /** The addon is loaded and usable. */
  active: boolean;
  reason?: string;
  isa?: string;
  /** Instruction-set paths this CPU can run, best first. */
  available?: string[];
  threads?: number;
  /** Backends whose matmul kernels are native right now. */
  backends: NativeBackendName[];
}

export function nativeStatus(): NativeStatus {
  const load = loadNativeAddon();
  if (!load.ok) return { active: false, reason: load.reason, backends: [] };
  const info = load.addon.info();
  return { active: true, isa: info.isa, available: info.available, threads: info.threads, backends: nativeBackends() };
}

/** Sets the native pool's thread count (process-wide; the caller's thread counts as one). */
export function setNativeThreads(n: number): boolean {
  const load = loadNativeAddon();
  if (!load.ok) return false;
  load.addon.setNumThreads(Math.max(1, Math.floor(n)));
  return true;
}
