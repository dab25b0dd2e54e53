/**
 * How many bytes of tensors one training step of a Llama needs at its peak, from the shapes
 * alone (float32 everywhere), counted from what each op of the model keeps for the backward pass:
 *
 * - weights: every parameter; gradients and AdamW's m and v: every trainable one (LoRA: the
 *   adapters). With gradient accumulation the running sum is held beside a micro-batch's gradients.
 * - activations: every output of the forward pass lives until it ends (tfjs frees a forward's
 *   intermediates with its scope; saved tensors share their memory). Per decoder layer and token
 *   (D hidden, I intermediate, Q = heads·head_dim, K = kv_heads·head_dim): two norm outputs,
 *   o_proj, down_proj and two residual sums (6D); q, rotated q, attention output (3Q); k, rotated
 *   k, v (3K); gate, up, σ(gate) and the SwiGLU product (4I); plus the attention probabilities,
 *   batch·heads·seq² per layer. With the fused native kernels (`fusedKernels`: native/swiglu.ts,
 *   native/attention.ts) σ(gate) is not kept (3I) and attention keeps, instead of the
 *   probabilities, two floats per (batch row, head, query) and, for batch > 1, its stacked
 *   [batch, seq, seq] mask.
 * - the head: its input (D per token) and, one chunk of rows at a time, logits and their
 *   gradient (ops/head-cross-entropy.ts), its input's gradient and its weight's.
 * - with gradient checkpointing a layer keeps only its input (D per token); the backward pass
 *   recomputes one layer at a time, so one layer's activations are live at once. With only the
 *   bottom k layers checkpointed, the L − k above keep all of theirs.
 *
 * The peak is the larger of the head's phase (all activations, one chunk of logits and their
 * gradient, the head's weight gradient) and its end or the optimizer update (all gradients, one
 * recomputed layer and its gradients, AdamW's per-tensor temporaries). estimate.test.ts checks it
 * against the wasm heap's measured peak (`wasmHeapUsage`).
 *
 * On the cpu backend, ptflow's kernels take their outputs from a pool of freed buffers
 * (kernels/cpu-buffer-pool.ts) that holds them for the next step, up to its limit (1 GiB by
 * default). Through a step's peak it holds about one set of gradients: the previous step's,
 * freed after the update, whose sizes the forward and backward passes seldom reuse (measured on
 * the shapes of estimate-cpu.test.ts: 0.35–1.8 × the trainable parameters). Counted as
 * min(limit, trainable parameters × 4 bytes); estimate-cpu.test.ts checks the total against the
 * peak of the live tensors' buffers plus the pool's.
 */
import type { LlamaConfig } from '../model/config';
import { parameterShapes } from '../model/names';
import { chunkRows } from '../ops/head-cross-entropy';

export interface StepShape {
  batchSize: number;
  seqLen: number;
  gradientAccumulationSteps: number;
  gradientCheckpointing: boolean;
  /** With gradientCheckpointing: how many of the bottom layers are recomputed (unset: all). */
  checkpointedLayers?: number;
  /** Trainable parameters (full: all; freeze: the unfrozen ones; LoRA: the adapters). */
  trainableParams: number;
  /** The fused native attention and SwiGLU run (`nativeOpsActive()`); unset: the stock ops (more). */
  fusedKernels?: boolean;
  /** The cpu backend's output buffer pool limit in bytes (`cpuBufferPoolLimit()`); unset: no pool (other backends). */
  bufferPoolLimitBytes?: number;
}

export interface MemoryEstimate {
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  /** Logits, their gradient and other per-step temporaries at the peak. */
  workspace: number;
  /** Freed buffers the cpu backend's output pool holds for reuse (0 elsewhere). */
  bufferPool: number;
  /** Peak tensor bytes of one step. */
  total: number;
}

const F32 = 4;

export function parameterCount(cfg: LlamaConfig): number {
  let n = 0;
  for (const shape of parameterShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Floats one decoder layer keeps per token (without the attention probabilities). */
export function layerFloatsPerToken(cfg: LlamaConfig): number {
  const D = cfg.hiddenSize;
  const Q = cfg.numAttentionHeads * cfg.headDim;
  const K = cfg.numKeyValueHeads * cfg.headDim;
  return 6 * D + 3 * Q + 3 * K + 4 * cfg.intermediateSize + 2;
}

export function estimateStepMemory(cfg: LlamaConfig, s: StepShape): MemoryEstimate {
  const P = parameterCount(cfg);
  const Pt = s.trainableParams;
  const B = s.batchSize;
  const T = s.seqLen;
  const N = B * T;
  const D = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const L = cfg.numHiddenLayers;
  const H = cfg.numAttentionHeads;
  const layer = s.fusedKernels
    ? N * (layerFloatsPerToken(cfg) - cfg.intermediateSize) + B * H * T * 2 + (B > 1 ? B * T * T : 0)
    : N * layerFloatsPerToken(cfg) + B * H * T * T;
  const k = s.gradientCheckpointing ? Math.min(L, s.checkpointedLayers ?? L) : 0;
  const saved = k * N * D + (L - k) * layer;
  const head = 2 * N * D; // final norm input, head input
  // The head forms logits and their gradient one chunk of rows at a time (ops/head-cross-entropy.ts).
  const logits = Math.min(N, chunkRows(V)) * V;
  let largest = 0;
  for (const shape of parameterShapes(cfg).values()) largest = Math.max(largest, shape.reduce((a, b) => a * b, 1));
  // The head's weight gradient is summed over chunks (running sum + one chunk's share).
  const headGrad = Pt === P ? (N > chunkRows(V) ? 2 : 1) * V * D : 0;
  const accumulated = s.gradientAccumulationSteps > 1 ? Pt : 0;

  const weights = P * F32;
  const optimizer = 2 * Pt * F32;
  // The head: everything the layers saved, one chunk's logits and their gradient, dh and dW.
  const top = saved + head + 2 * logits + headGrad + accumulated;
  // With checkpointing, the bottom layer's recomputation while every other gradient exists (the
  // layers above have freed their activations); a recomputed layer's backward also holds the
  // gradients of its MLP and of its input and residual.
  const recomputed = layer + N * (3 * cfg.intermediateSize + 3 * D);
  const layerParams = (P - V * D * (cfg.tieWordEmbeddings ? 1 : 2)) / L;
  const mid = k > 0 ? Math.max(0, Pt - layerParams) + accumulated + recomputed : 0;
  // The update: all gradients (+ the running sum), AdamW's new p, m, v of the largest tensor.
  const end = Pt + accumulated + 3 * Math.min(largest, Pt);
  const peak = Math.max(top, mid, end);
  const activations = (peak === top ? saved + head : peak === mid ? recomputed : 0) * F32;
  const gradients = (peak === top ? headGrad + accumulated : peak === mid ? peak - recomputed : Pt + accumulated) * F32;
  const workspace = peak * F32 - activations - gradients;
  const bufferPool = Math.min(s.bufferPoolLimitBytes ?? 0, Pt * F32);
  return { weights, gradients, optimizer, activations, workspace, bufferPool, total: weights + optimizer + peak * F32 + bufferPool };
}
