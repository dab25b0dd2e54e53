/**
 * AdamW state ⇄ safetensors tensors: `<param>.exp_avg` and `<param>.exp_avg_sq` (F32, the
 * parameter's shape), with the step counts in the file's string metadata. Checkpoints save this
 * as `optimizer.safetensors`, streamed from the optimizer's own tensors (`adamwStateSources`).
 */
import { PtflowError } from '../../errors';
import { FloatTensor, TensorSource, readSafetensorsF32, writeSafetensors } from '../io/safetensors';
import { tfTensorSource } from '../io/tf-tensor-source';
import type { AdamW, AdamWState } from './adamw';

export const ADAMW_STATE_FORMAT = 'ptflow.adamw.v1';

/** The file's tensors and metadata from a state whose moments are of type T. */
function fileLayout<T, S>(
  s: { step: number; params: Record<string, { step: number; shape: number[]; m: T; v: T }> },
  as: (shape: number[], moment: T) => S,
): { tensors: Map<string, S>; metadata: Record<string, string> } {
  const tensors = new Map<string, S>();
  const steps: Record<string, number> = {};
  for (const [name, p] of Object.entries(s.params)) {
    tensors.set(`${name}.exp_avg`, as(p.shape, p.m));
    tensors.set(`${name}.exp_avg_sq`, as(p.shape, p.v));
    steps[name] = p.step;
  }
  return { tensors, metadata: { format: ADAMW_STATE_FORMAT, step: String(s.step), param_steps: JSON.stringify(steps) } };
}

export function adamwStateToTensors(s: AdamWState): { tensors: Map<string, FloatTensor>; metadata: Record<string, string> } {
  return fileLayout(s, (shape, data) => ({ shape, data }));
}

/**
 * The same tensors and metadata as `adamwStateToTensors(optimizer.exportState())`, as sources
 * reading the optimizer's moments where the backend keeps them (no copy of the state). The
 * optimizer must not step until the file is written.
 */
export function adamwStateSources(optimizer: AdamW): { tensors: Map<string, TensorSource>; metadata: Record<string, string> } {
  return fileLayout(optimizer.moments(), (_shape, t) => tfTensorSource(t));
}

/** Inverse of `adamwStateToTensors`; `file` names the source in errors. */
export function adamwStateFromTensors(
  tensors: ReadonlyMap<string, FloatTensor>,
  metadata: Readonly<Record<string, string>>,
  file: string,
): AdamWState {
  if (metadata.format !== ADAMW_STATE_FORMAT) {
    throw new PtflowError(`${file}: __metadata__.format is ${JSON.stringify(metadata.format)}, expected ${ADAMW_STATE_FORMAT}`);
  }
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new PtflowError(`${file}: __metadata__.step ${JSON.stringify(metadata.step)} is not a step count`);
  let steps: Record<string, unknown>;
  try {
    steps = JSON.parse(metadata.param_steps ?? '') as Record<string, unknown>;
  } catch {
    throw new PtflowError(`${file}: __metadata__.param_steps is not JSON`);
  }
  const params: AdamWState['params'] = {};
  for (const [name, st] of Object.entries(steps)) {
    const m = tensors.get(`${name}.exp_avg`);
    const v = tensors.get(`${name}.exp_avg_sq`);
    if (!m || !v) throw new PtflowError(`${file}: missing tensor ${!m ? `${name}.exp_avg` : `${name}.exp_avg_sq`}`);
    if (typeof st !== 'number' || !Number.isInteger(st)) throw new PtflowError(`${file}: __metadata__.param_steps.${name} is not an integer`);
    params[name] = { step: st, shape: [...m.shape], m: m.data, v: v.data };
  }
  const known = new Set(Object.keys(steps).flatMap((n) => [`${n}.exp_avg`, `${n}.exp_avg_sq`]));
  for (const k of tensors.keys()) if (!known.has(k)) throw new PtflowError(`${file}: unexpected tensor ${k}`);
  return { step, params };
}

/** Save optimizer state to a safetensors file (atomically). */
export async function saveAdamWState(file: string, s: AdamWState): Promise<void> {
  const { tensors, metadata } = adamwStateToTensors(s);
  await writeSafetensors(file, tensors, metadata);
}

/** Load optimizer state saved by `saveAdamWState`. */
export async function loadAdamWState(file: string): Promise<AdamWState> {
  const { tensors, metadata } = await readSafetensorsF32(file);
  return adamwStateFromTensors(tensors, metadata, file);
}
