/**
 * Before training: does one step of this run fit what the backend can address and what the
 * machine has? And is gradient checkpointing on?
 *
 * - `resolveCheckpointing`: `disable_gradient_checkpointing: true` turns it off,
 *   `gradient_checkpointing: true|false` decides (true: every layer); unset (null) it recomputes
 *   the fewest bottom layers that make the step fit the backend and, where tensors share the
 *   machine's memory (no wasm heap of their own), keep the activations held at the step's peak
 *   within 1 GiB (`CHECKPOINTING_AUTO_BYTES`). Each recomputed layer costs one more forward pass
 *   of it per step; the wasm heap is memory apart, so what it holds is used first.
 * - `checkStepMemory`: the estimate (estimate.ts; on cpu with the output buffer pool's share) against the backend's limit (the wasm heap
 *   addresses at most 4 GiB, less under `PTFLOW_WASM_HEAP_LIMIT` (heap-limit.ts), and a heap that grows in steps fragments: 10 % is kept free) and
 *   the machine's memory, with what a checkpoint save takes besides (`checkpointSaveBytes`). When it does not fit, a PtflowError gives the estimate and the settings
 *   that would fit: gradient checkpointing, a smaller batch (with more accumulation, the same
 *   effective batch), a shorter cutoff_len, another backend.
 */
import * as os from 'node:os';
import { PtflowError } from '../../errors';
import { cpuBufferPoolLimit } from '../kernels/cpu-buffer-pool';
import type { LlamaConfig } from '../model/config';
import { STREAM_CHUNK_BYTES } from '../io/safetensors';
import { parameterShapes } from '../model/names';
import { estimateStepMemory, type MemoryEstimate, type StepShape } from './estimate';
import { wasmHeapLimitBytes } from './heap-limit';
import { fmtBytes } from './out-of-memory';

export const CHECKPOINTING_AUTO_BYTES = 1024 ** 3;
/** Share of the wasm heap a step may plan to use (the rest absorbs fragmentation). */
export const WASM_USABLE_SHARE = 0.9;
/** Bytes the process needs beyond its tensors (Node, tfjs, the data pipeline's buffers). */
export const PROCESS_OVERHEAD_BYTES = 512 * 1024 ** 2;

/** webgpu: the GPU's memory is not known to ptflow, so only the machine's memory is checked. */
export type MemoryBackend = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu';

export interface MemoryLimits {
  /** Bytes of tensors the backend can address (wasm: its heap), or Infinity. */
  backendBytes: number;
  /** Physical memory of the machine. */
  machineBytes: number;
  /** cpu: the limit of the pool of freed output buffers its kernels draw from (estimate.ts counts it). */
  bufferPoolLimitBytes?: number;
  /** Bytes a checkpoint save takes outside the tensors (`checkpointSaveBytes`); unset: 0. */
  saveBytes?: number;
}

/**
 * Memory a checkpoint save takes besides the tensors, in the process (so counted against the
 * machine, never the wasm heap). Weights and AdamW moments stream to their files through one
 * STREAM_CHUNK_BYTES buffer per file (the previous file's may await collection: two). On wasm and
 * cpu they are read where the backend keeps them; on tensorflow and webgpu `dataSync` copies one
 * tensor at a time, the largest parameter at most.
 */
export function checkpointSaveBytes(cfg: LlamaConfig, backend: MemoryBackend): number {
  const buffers = 2 * STREAM_CHUNK_BYTES;
  if (backend === 'wasm' || backend === 'cpu') return buffers;
  let largest = 0;
  for (const shape of parameterShapes(cfg).values()) largest = Math.max(largest, shape.reduce((a, b) => a * b, 1));
  return buffers + 4 * largest;
}

/** The limits of `backend` on this machine; with `cfg`, the memory its checkpoint saves take. */
export function defaultLimits(backend: MemoryBackend, cfg?: LlamaConfig): MemoryLimits {
  return {
    backendBytes: backend === 'wasm' ? Math.floor(wasmHeapLimitBytes() * WASM_USABLE_SHARE) : Number.POSITIVE_INFINITY,
    machineBytes: os.totalmem(),
    ...(backend === 'cpu' ? { bufferPoolLimitBytes: cpuBufferPoolLimit() } : {}),
    ...(cfg ? { saveBytes: checkpointSaveBytes(cfg, backend) } : {}),
  };
}

export interface RunShape {
  batchSize: number;
  cutoffLen: number;
  gradientAccumulationSteps: number;
  trainableParams: number;
  /** The fused native attention and SwiGLU will run (estimate.ts keeps less for them). */
  fusedKernels?: boolean;
}

export interface CheckpointingKeys {
  gradient_checkpointing: boolean | null;
  disable_gradient_checkpointing: boolean;
}

/** Which layers recompute their activations: true every one, false none, a number that many of the bottom ones. */
export type CheckpointedLayers = boolean | number;

const shapeOf = (r: RunShape, ck: CheckpointedLayers, l: MemoryLimits): StepShape => ({
  batchSize: r.batchSize, seqLen: r.cutoffLen, gradientAccumulationSteps: r.gradientAccumulationSteps,
  gradientCheckpointing: ck !== false && ck !== 0, ...(typeof ck === 'number' ? { checkpointedLayers: ck } : {}),
  trainableParams: r.trainableParams, fusedKernels: r.fusedKernels,
  ...(l.bufferPoolLimitBytes !== undefined ? { bufferPoolLimitBytes: l.bufferPoolLimitBytes } : {}),
});

function fits(e: MemoryEstimate, l: MemoryLimits): boolean {
  return e.total <= l.backendBytes && e.total + PROCESS_OVERHEAD_BYTES + (l.saveBytes ?? 0) <= l.machineBytes;
}

export interface CheckpointingPlan {
  on: boolean;
  /** How many of the bottom decoder layers recompute their activations (0 when off). */
  layers: number;
  why: string;
}

export function resolveCheckpointing(
  keys: CheckpointingKeys,
  cfg: LlamaConfig,
  run: RunShape,
  limits: MemoryLimits,
): CheckpointingPlan {
  const L = cfg.numHiddenLayers;
  if (keys.disable_gradient_checkpointing) return { on: false, layers: 0, why: 'disable_gradient_checkpointing: true' };
  if (keys.gradient_checkpointing !== null) {
    return { on: keys.gradient_checkpointing, layers: keys.gradient_checkpointing ? L : 0, why: `gradient_checkpointing: ${keys.gradient_checkpointing}` };
  }
  const est = (k: number): MemoryEstimate => estimateStepMemory(cfg, shapeOf(run, k, limits));
  const without = est(0);
  // wasm: the heap is memory of its own, so what it can hold is used before anything is recomputed.
  // Elsewhere the machine's memory is shared: the activations held at the step's peak are kept
  // within 1 GiB (none are held when the optimizer's update is the peak).
  const heap = Number.isFinite(limits.backendBytes);
  const ok = (e: MemoryEstimate): boolean => fits(e, limits) && (heap || e.activations <= CHECKPOINTING_AUTO_BYTES);
  if (ok(without)) {
    const why = heap
      ? `the step fits the heap without it (${fmtBytes(without.total)})`
      : without.activations === 0
        ? "the optimizer's update, with no activations held, is the step's peak"
        : `activations at the step's peak take ${fmtBytes(without.activations)} (≤ ${fmtBytes(CHECKPOINTING_AUTO_BYTES)})`;
    return { on: false, layers: 0, why };
  }
  // The fewest bottom layers that make it fit; when none does, the fewest with the smallest estimate.
  let k = 0;
  let best = { k: L, total: Infinity };
  for (k = 1; k <= L; k++) {
    const e = est(k);
    if (ok(e)) break;
    if (e.total < best.total) best = { k, total: e.total };
  }
  if (k > L) k = best.k;
  const need = heap || without.activations <= CHECKPOINTING_AUTO_BYTES
    ? `the step needs ${fmtBytes(without.total)} without it`
    : `activations at the step's peak would take ${fmtBytes(without.activations)} without it (> ${fmtBytes(CHECKPOINTING_AUTO_BYTES)})`;
  return { on: true, layers: k, why: `${need}; ${k === L ? 'every layer' : `the bottom ${k} of ${L} layers`} recomputed` };
}

/**
 * Gradient checkpointing and, for `backend: auto`, whether the wasm heap can hold the run
 * (`wasmUnfit`: why not). Checkpointing is first resolved against the wasm heap; when the run
 * does not fit it even so, auto goes to cpu and checkpointing is resolved again against cpu's
 * limits (an unset key then follows the 1 GiB rule alone: no recomputation to fit a heap not used).
 */
export function planStepMemory(
  keys: CheckpointingKeys,
  cfg: LlamaConfig,
  run: RunShape,
  requested: string,
): { checkpointing: CheckpointingPlan; wasmUnfit?: string } {
  const planned: MemoryBackend = requested === 'auto' || requested === 'wasm' ? 'wasm' : (requested as MemoryBackend);
  const checkpointing = resolveCheckpointing(keys, cfg, run, defaultLimits(planned, cfg));
  if (requested !== 'auto') return { checkpointing };
  const wasmLimits = defaultLimits('wasm', cfg);
  const need = estimateStepMemory(cfg, shapeOf(run, checkpointing.layers, wasmLimits)).total;
  const heap = wasmLimits.backendBytes;
  if (need <= heap) return { checkpointing };
  const onCpu = resolveCheckpointing(keys, cfg, run, defaultLimits('cpu', cfg));
  // What the step would take in the heap (without the cpu backend's buffer pool).
  const inHeap = estimateStepMemory(cfg, shapeOf(run, onCpu.layers, wasmLimits)).total;
  return { checkpointing: onCpu, wasmUnfit: `one step needs an estimated ${fmtBytes(inHeap)}, its heap holds ${fmtBytes(heap)}` };
}

export function describeEstimate(e: MemoryEstimate): string {
  return (
    `${fmtBytes(e.total)} (weights ${fmtBytes(e.weights)}, AdamW state ${fmtBytes(e.optimizer)}, gradients ${fmtBytes(e.gradients)}, ` +
    `activations ${fmtBytes(e.activations)}, logits and workspace ${fmtBytes(e.workspace)}` +
    `${e.bufferPool > 0 ? `, freed buffers pooled for reuse ${fmtBytes(e.bufferPool)}` : ''})`
  );
}

/** "on", "off", or "on for the bottom k of L layers". */
export function describeCheckpointing(ck: CheckpointedLayers, L: number): string {
  const k = ck === true ? L : ck === false ? 0 : ck;
  return k === 0 ? 'off' : k >= L ? 'on' : `on for the bottom ${k} of ${L} layers`;
}

/** Settings that would fit, best first (each one change away from `run`). */
export function fittingChoices(
  cfg: LlamaConfig,
  run: RunShape,
  layers: CheckpointedLayers,
  backend: MemoryBackend,
  limits: MemoryLimits,
  otherBackend?: { name: MemoryBackend; limits: MemoryLimits },
): string[] {
  const out: string[] = [];
  const est = (r: RunShape, ck: CheckpointedLayers, l: MemoryLimits = limits): MemoryEstimate => estimateStepMemory(cfg, shapeOf(r, ck, l));
  // Every layer checkpointed already: the suggestions keep it; otherwise they may add it.
  const checkpointing = layers === true || layers === cfg.numHiddenLayers;
  if (!checkpointing && fits(est(run, true), limits)) {
    out.push(`gradient_checkpointing: true (${fmtBytes(est(run, true).total)})`);
  }
  let suggestedBatch = 0;
  for (const ck of checkpointing ? [true] : [layers, true]) {
    for (let b = run.batchSize - 1; b >= 1; b--) {
      // The same effective batch: more accumulation, which holds a running sum of the gradients.
      const accum = Math.ceil((run.batchSize * run.gradientAccumulationSteps) / b);
      const r = { ...run, batchSize: b, gradientAccumulationSteps: accum };
      if (!fits(est(r, ck), limits)) continue;
      // The same batch with checkpointing added says nothing more.
      if (b === suggestedBatch) break;
      suggestedBatch = b;
      out.push(
        `per_device_train_batch_size: ${b} with gradient_accumulation_steps: ${accum}${ck === true && !checkpointing ? ' and gradient_checkpointing: true' : ''} ` +
          `(${fmtBytes(est(r, ck).total)})`,
      );
      break;
    }
  }
  for (let t = run.cutoffLen >> 1; t >= 16; t >>= 1) {
    const r = { ...run, cutoffLen: t };
    const ck: CheckpointedLayers = checkpointing || !fits(est(r, layers), limits) ? true : layers;
    if (fits(est(r, ck), limits)) {
      out.push(`cutoff_len: ${t}${ck === true && !checkpointing ? ' with gradient_checkpointing: true' : ''} (${fmtBytes(est(r, ck).total)})`);
      break;
    }
  }
  if (otherBackend && fits(est(run, layers, otherBackend.limits), otherBackend.limits)) {
    out.push(`backend: ${otherBackend.name} (no ${fmtBytes(limits.backendBytes)} limit; slower element-wise kernels)`);
  }
  void backend;
  return out;
}

/** Throws a PtflowError when one step of `run` does not fit; returns the estimate otherwise. */
export function checkStepMemory(
  cfg: LlamaConfig,
  run: RunShape,
  checkpointing: CheckpointedLayers,
  backend: MemoryBackend,
  limits: MemoryLimits = defaultLimits(backend, cfg),
): MemoryEstimate {
  const e = estimateStepMemory(cfg, shapeOf(run, checkpointing, limits));
  if (fits(e, limits)) return e;
  const where =
    e.total > limits.backendBytes
      ? `the ${backend} backend can hold ${fmtBytes(limits.backendBytes)} of tensors`
      : `this machine has ${fmtBytes(limits.machineBytes)} of memory (${fmtBytes(PROCESS_OVERHEAD_BYTES)} kept for the process itself` +
        `${limits.saveBytes ? `, ${fmtBytes(limits.saveBytes)} for saving checkpoints` : ''})`;
  const other = backend === 'wasm' ? { name: 'cpu' as const, limits: defaultLimits('cpu', cfg) } : undefined;
  const choices = fittingChoices(cfg, run, checkpointing, backend, limits, other);
  throw new PtflowError(
    `memory: one training step (batch ${run.batchSize} × cutoff_len ${run.cutoffLen}, gradient checkpointing ${describeCheckpointing(checkpointing, cfg.numHiddenLayers)}) ` +
      `needs an estimated ${describeEstimate(e)}, but ${where}. ` +
      (choices.length > 0 ? `Settings that fit: ${choices.join('; ')}.` : 'No smaller setting of batch size or cutoff_len fits.'),
    2,
  );
}
