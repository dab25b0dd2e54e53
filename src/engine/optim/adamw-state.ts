/**
 * AdamW state ⇄ safetensors tensors: `<param>.exp_avg` and `<param>.exp_avg_sq` (F32, the
 * parameter's shape), with the step counts in the file's string metadata. Checkpoints save this
 * as `optimizer.safetensors`, streamed from the optimizer's own tensors (`adamwStateSources`).
 */
import { PtflowError } from '../../errors';
import { isFloatDtype } from '../io/dtype';
import { FloatTensor, TensorSource, asFloatTensor, openSafetensors, readTensor, writeSafetensors } from '../io/safetensors';
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

/** The step counts a state file's metadata holds: the optimizer's, and each parameter's. */
function stepsOf(metadata: Readonly<Record<string, string>>, file: string): { step: number; steps: Record<string, number> } {
  if (metadata.format !== ADAMW_STATE_FORMAT) {
    throw new PtflowError(`${file}: __metadata__.format is ${JSON.stringify(metadata.format)}, expected ${ADAMW_STATE_FORMAT}`);
  }
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new PtflowError(`${file}: __metadata__.step ${JSON.stringify(metadata.step)} is not a step count`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(metadata.param_steps ?? '') as Record<string, unknown>;
  } catch {
    throw new PtflowError(`${file}: __metadata__.param_steps is not JSON`);
  }
  const steps: Record<string, number> = {};
  for (const [name, st] of Object.entries(parsed)) {
    if (typeof st !== 'number' || !Number.isInteger(st)) throw new PtflowError(`${file}: __metadata__.param_steps.${name} is not an integer`);
    steps[name] = st;
  }
  return { step, steps };
}

/** Every tensor of the file is a moment of a parameter the metadata names. */
function checkNames(names: Iterable<string>, steps: Record<string, number>, file: string): void {
  const known = new Set(Object.keys(steps).flatMap((n) => [`${n}.exp_avg`, `${n}.exp_avg_sq`]));
  for (const k of names) if (!known.has(k)) throw new PtflowError(`${file}: unexpected tensor ${k}`);
}

const missing = (file: string, name: string): PtflowError => new PtflowError(`${file}: missing tensor ${name}`);

/** Inverse of `adamwStateToTensors`; `file` names the source in errors. */
export function adamwStateFromTensors(
  tensors: ReadonlyMap<string, FloatTensor>,
  metadata: Readonly<Record<string, string>>,
  file: string,
): AdamWState {
  const { step, steps } = stepsOf(metadata, file);
  const params: AdamWState['params'] = {};
  for (const [name, st] of Object.entries(steps)) {
    const m = tensors.get(`${name}.exp_avg`);
    const v = tensors.get(`${name}.exp_avg_sq`);
    if (!m || !v) throw missing(file, !m ? `${name}.exp_avg` : `${name}.exp_avg_sq`);
    params[name] = { step: st, shape: [...m.shape], m: m.data, v: v.data };
  }
  checkNames(tensors.keys(), steps, file);
  return { step, params };
}

/** Save optimizer state to a safetensors file (atomically). */
export async function saveAdamWState(file: string, s: AdamWState): Promise<void> {
  const { tensors, metadata } = adamwStateToTensors(s);
  await writeSafetensors(file, tensors, metadata);
}

/**
 * Restore `optimizer` from a file saved by `saveAdamWState` one parameter at a time: the header is
 * checked first (the metadata, two floating-point moments for every parameter it names, no other
 * tensor), then each parameter's moments are read and handed over. Only one parameter's moments are
 * held besides the optimizer's own (reading the whole file, then `importState`, held it twice).
 */
export async function restoreAdamWState(file: string, optimizer: AdamW): Promise<void> {
  const { fh, header } = await openSafetensors(file);
  try {
    const { step, steps } = stepsOf(header.metadata, file);
    const entry = (name: string) => {
      const e = header.byName.get(name);
      if (!e) throw missing(file, name);
      if (!isFloatDtype(e.dtype)) throw new PtflowError(`${file}: tensor ${name} has dtype ${e.dtype}; a floating-point tensor was expected`);
      return e;
    };
    const entries = Object.entries(steps).map(([name, st]) => {
      const m = entry(`${name}.exp_avg`);
      const v = entry(`${name}.exp_avg_sq`);
      const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
      return { name, step: st, shape: m.shape, mLength: size(m.shape), vLength: size(v.shape) };
    });
    checkNames(header.byName.keys(), steps, file);
    const moment = async (name: string) => asFloatTensor(await readTensor(fh, header, name), file, name).data;
    await optimizer.importStateStreamed(step, entries, async (name) => ({ m: await moment(`${name}.exp_avg`), v: await moment(`${name}.exp_avg_sq`) }));
  } finally {
    await fh.close();
  }
}
