/**
 * AdamW exactly as `torch.optim.AdamW` (single-tensor path) computes it, per parameter:
 *   p ← p·(1 − lr·wd)                      (decoupled weight decay, only where `decay(name)`)
 *   m ← m + (g − m)·(1 − β1)               (torch's lerp)
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 * with t counted per parameter (a parameter without a gradient in a step is skipped, as in
 * torch). All tensor math runs inside `tf.tidy`; the moments are tf.Variables owned here
 * (`dispose()` frees them). State exports to plain Float32Arrays for checkpoints. With the
 * native kernels active the update is one fused native kernel per parameter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { nativeAdamWUpdate, nativeOpsActive } from '../native';
import { hfDecayFilter } from './decay';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** Optimizer state of one parameter, as plain arrays. */
export interface AdamWParamState {
  /** Optimizer steps this parameter has taken (torch's `state[p]["step"]`). */
  step: number;
  shape: number[];
  /** First moment (torch `exp_avg`). */
  m: Float32Array;
  /** Second moment (torch `exp_avg_sq`). */
  v: Float32Array;
}

export interface AdamWState {
  /** Number of `step()` calls. */
  step: number;
  params: Record<string, AdamWParamState>;
}

/** `AdamWState` with the moments as the optimizer's own tensors (`AdamW.moments`). */
export interface AdamWMoments {
  step: number;
  params: Record<string, { step: number; shape: number[]; m: tf.Tensor; v: tf.Tensor }>;
}

interface Slot {
  step: number;
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of `step()` calls so far. */
  stepCount = 0;
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    opts: AdamWOptions = {},
    private readonly decay: (name: string) => boolean = hfDecayFilter,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    const bad = (k: string, v: number, ok: boolean): void => {
      if (!ok) throw new PtflowError(`AdamW: invalid ${k} ${v}`, 2);
    };
    bad('beta1', this.beta1, this.beta1 >= 0 && this.beta1 < 1);
    bad('beta2', this.beta2, this.beta2 >= 0 && this.beta2 < 1);
    bad('eps', this.eps, this.eps >= 0);
    bad('weight_decay', this.weightDecay, this.weightDecay >= 0);
  }

  /** Whether weight decay applies to `name` (after the filter; false when weightDecay is 0). */
  decays(name: string): boolean {
    return this.weightDecay !== 0 && this.decay(name);
  }

  /** One optimizer step with learning rate `lr`. Gradients are not disposed (the caller owns them). */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new PtflowError(`AdamW.step: invalid learning rate ${lr}`);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new PtflowError(`AdamW.step: gradient for unknown parameter ${name}`);
      if (!shapesEqual(p.shape, g.shape)) {
        throw new PtflowError(`AdamW.step: gradient of ${name} has shape [${g.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`);
      }
    }
    this.stepCount++;
    const { beta1: b1, beta2: b2, eps } = this;
    for (const [name, g] of grads) {
      const p = this.params.get(name)!;
      const slot = this.slotFor(name, p);
      slot.step++;
      const t = slot.step;
      const bc1 = 1 - b1 ** t;
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const stepSize = lr / bc1;
      const decayFactor = this.decays(name) ? 1 - lr * this.weightDecay : 1;
      tf.tidy(() => {
        const gf = g.dtype === 'float32' ? g : tf.cast(g, 'float32');
        // One fused native pass where the native kernels are active (same formulas).
        const fused = nativeOpsActive()
          ? nativeAdamWUpdate(p, gf, slot.m, slot.v, { beta1: b1, beta2: b2, eps, stepSize, bc2Sqrt, decay: decayFactor })
          : null;
        if (fused !== null) {
          slot.m.assign(fused.m);
          slot.v.assign(fused.v);
          p.assign(fused.p);
          return;
        }
        const m = tf.add(slot.m, tf.mul(tf.sub(gf, slot.m), 1 - b1));
        const v = tf.add(tf.mul(slot.v, b2), tf.mul(tf.mul(gf, gf), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        const base = decayFactor === 1 ? p : tf.mul(p, decayFactor);
        const next = tf.add(base, tf.mul(tf.div(m, denom), -stepSize));
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(next);
      });
    }
  }

  private slotFor(name: string, p: tf.Variable): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = { step: 0, m: ownedVariable(tf.zeros(p.shape)), v: ownedVariable(tf.zeros(p.shape)) };
      this.slots.set(name, s);
    }
    return s;
  }

  /**
   * The state as the optimizer holds it: its own moment tensors (not copies; for saving them
   * without a second copy, engine/io/tf-tensor-source.ts). Valid until the next `step` or
   * `importState`, which replace them.
   */
  moments(): AdamWMoments {
    const params: AdamWMoments['params'] = {};
    for (const [name, s] of this.slots) params[name] = { step: s.step, shape: s.m.shape.slice(), m: s.m, v: s.v };
    return { step: this.stepCount, params };
  }

  /** The state as plain arrays (copies), keyed by parameter name. */
  exportState(): AdamWState {
    const params: Record<string, AdamWParamState> = {};
    for (const [name, s] of this.slots) {
      params[name] = {
        step: s.step,
        shape: s.m.shape.slice(),
        m: Float32Array.from(s.m.dataSync() as Float32Array),
        v: Float32Array.from(s.v.dataSync() as Float32Array),
      };
    }
    return { step: this.stepCount, params };
  }

  /** Replace the state with `s` (e.g. from a checkpoint). Every entry must match a parameter's shape. */
  importState(s: AdamWState): void {
    for (const [name, st] of Object.entries(s.params)) this.checkEntry(name, st.step, st.shape, st.m.length, st.v.length);
    this.disposeSlots();
    for (const [name, st] of Object.entries(s.params)) this.installSlot(name, st.step, st.m, st.v);
    this.stepCount = s.step;
  }

  /**
   * `importState` reading one parameter's moments at a time (`read`), so that a checkpoint's state
   * is not held in memory twice over. Every entry is checked against the parameters first; a `read`
   * that fails after that leaves the state partly replaced (the caller stops: a resume that cannot
   * read its checkpoint does not train).
   */
  async importStateStreamed(
    step: number,
    entries: ReadonlyArray<{ name: string; step: number; shape: readonly number[]; mLength: number; vLength: number }>,
    read: (name: string) => Promise<{ m: Float32Array; v: Float32Array }>,
  ): Promise<void> {
    for (const e of entries) this.checkEntry(e.name, e.step, e.shape, e.mLength, e.vLength);
    this.disposeSlots();
    for (const e of entries) {
      const { m, v } = await read(e.name);
      this.checkEntry(e.name, e.step, e.shape, m.length, v.length);
      this.installSlot(e.name, e.step, m, v);
    }
    this.stepCount = step;
  }

  private checkEntry(name: string, step: number, shape: readonly number[], mLength: number, vLength: number): void {
    const p = this.params.get(name);
    if (!p) throw new PtflowError(`AdamW state: no parameter named ${name}`);
    if (!shapesEqual(p.shape, shape) || mLength !== p.size || vLength !== p.size) {
      throw new PtflowError(`AdamW state: ${name} has shape [${shape.join(', ')}] (${mLength}/${vLength} values), parameter has [${p.shape.join(', ')}]`);
    }
    if (!Number.isInteger(step) || step < 0) throw new PtflowError(`AdamW state: ${name} has invalid step ${step}`);
  }

  private installSlot(name: string, step: number, m: Float32Array, v: Float32Array): void {
    const shape = this.params.get(name)!.shape;
    this.slots.set(name, { step, m: ownedVariable(tf.tensor(m, shape, 'float32')), v: ownedVariable(tf.tensor(v, shape, 'float32')) });
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }

  /** Free the moment variables. */
  dispose(): void {
    this.disposeSlots();
  }
}

/** A non-trainable variable holding `init`'s values; `init` itself is disposed. */
function ownedVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
