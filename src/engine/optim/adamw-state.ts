/**
 * AdamW state ⇄ safetensors tensors: `<param>.exp_avg` and `<param>.exp_avg_sq` (F32, the
 * parameter's shape), with the step counts in the file's string metadata. Checkpoints save this
 * as `optimizer.safetensors`.
 */
import { PtflowError } from '../../errors';
import { FloatTensor, readSafetensorsF32, writeSafetensors } from '../io/safetensors';
import type { AdamWState } from './adamw';

export const ADAMW_STATE_FORMAT = 'ptflow.adamw.v1';

export function adamwStateToTensors(s: AdamWState): { tensors: Map<string, FloatTensor>; metadata: Record<string, string> } {
  const tensors = new Map<string, FloatTensor>();
  const steps: Record<string, number> = {};
  for (const [name, p] of Object.entries(s.params)) {
    tensors.set(`${name}.exp_avg`, { shape: p.shape, data: p.m });
    tensors.set(`${name}.exp_avg_sq`, { shape: p.shape, data: p.v });
    steps[name] = p.step;
  }
  return { tensors, metadata: { format: ADAMW_STATE_FORMAT, step: String(s.step), param_steps: JSON.stringify(steps) } };
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
