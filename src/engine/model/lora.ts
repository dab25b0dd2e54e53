/**
 * LoRA adapters as PEFT builds them: for each targeted linear `W` [out, in], `A` [r, in]
 * (kaiming-uniform with a = √5, i.e. U(±1/√in)) and `B` [out, r] (zeros); the layer computes
 * `x·Wᵀ + (α/r)·dropout(x)·Aᵀ·Bᵀ`. Adapter tensors are named as PEFT saves them:
 * `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import type { LlamaConfig } from './config';
import { LINEAR_MODULES, linearPath, linearShape, type LinearModule } from './names';
import { hashSeed, uniformArray } from './rng';
import { linear } from '../ops/linear';

export interface LoraOptions {
  /** `lora_rank` (default 8). */
  rank?: number;
  /** `lora_alpha` (default 2 × rank). */
  alpha?: number | null;
  /** `lora_dropout` (default 0). */
  dropout?: number;
  /** `lora_target`: "all" or module names (`q_proj`, …, `down_proj`), as a list or comma string. */
  target?: string | string[];
}

/** PEFT's name of an adapter tensor. */
export function loraParamName(layer: number, m: LinearModule, which: 'A' | 'B'): string {
  return `base_model.model.${linearPath(layer, m)}.lora_${which}.weight`;
}

/** Resolves `lora_target` to module names; errors name the key and the unknown module. */
export function resolveLoraTarget(target: string | string[] | undefined): LinearModule[] {
  const list = (Array.isArray(target) ? target : (target ?? 'all').split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0 || list.includes('all')) return [...LINEAR_MODULES];
  for (const m of list) {
    if (!(LINEAR_MODULES as readonly string[]).includes(m)) {
      throw new PtflowError(
        `key "lora_target": unknown module "${m}" (choose from all, ${LINEAR_MODULES.join(', ')})`,
        2,
      );
    }
  }
  return LINEAR_MODULES.filter((m) => list.includes(m));
}

export class LoraAdapters {
  readonly rank: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropout: number;
  readonly targets: ReadonlySet<LinearModule>;
  /** Adapter tensors keyed by their PEFT names. */
  readonly params = new Map<string, tf.Variable>();

  constructor(cfg: LlamaConfig, opts: LoraOptions, seed: number) {
    this.rank = opts.rank ?? 8;
    this.alpha = opts.alpha ?? 2 * this.rank;
    this.dropout = opts.dropout ?? 0;
    if (!Number.isInteger(this.rank) || this.rank <= 0) {
      throw new PtflowError(`key "lora_rank": must be a positive integer, got ${this.rank}`, 2);
    }
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new PtflowError(`key "lora_dropout": must be in [0, 1), got ${this.dropout}`, 2);
    }
    this.scaling = this.alpha / this.rank;
    this.targets = new Set(resolveLoraTarget(opts.target));
    for (let i = 0; i < cfg.numHiddenLayers; i++) {
      for (const m of LINEAR_MODULES) {
        if (!this.targets.has(m)) continue;
        const [out, inp] = linearShape(cfg, m);
        const nameA = loraParamName(i, m, 'A');
        const a = uniformArray(this.rank * inp, 1 / Math.sqrt(inp), hashSeed(seed, nameA));
        this.params.set(nameA, tf.tidy(() => tf.variable(tf.tensor2d(a, [this.rank, inp]), true)));
        this.params.set(loraParamName(i, m, 'B'), tf.tidy(() => tf.variable(tf.zeros([out, this.rank]), true)));
      }
    }
  }

  has(m: LinearModule): boolean {
    return this.targets.has(m);
  }

  /**
   * The adapter's contribution for layer `layer`, module `m` on input `x` [n, in]:
   * `scaling · dropout(x)·Aᵀ·Bᵀ` [n, out]. `dropoutSeed` (training only) turns dropout on.
   */
  delta(x: tf.Tensor2D, layer: number, m: LinearModule, dropoutSeed?: number): tf.Tensor2D {
    const a = this.params.get(loraParamName(layer, m, 'A')) as tf.Variable<tf.Rank.R2>;
    const b = this.params.get(loraParamName(layer, m, 'B')) as tf.Variable<tf.Rank.R2>;
    let xin = x;
    if (this.dropout > 0 && dropoutSeed !== undefined) {
      xin = tf.dropout(x, this.dropout, undefined, hashSeed(dropoutSeed, `${layer}.${m}`)) as tf.Tensor2D;
    }
    return tf.mul(linear(linear(xin, a), b), this.scaling) as tf.Tensor2D;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
