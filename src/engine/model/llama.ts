/**
 * `LlamaModel`: the forward pass of Hugging Face's `LlamaForCausalLM` over parameters keyed by
 * HF names in HF shapes, plus the choice of what trains (full | freeze | lora).
 *
 *   const m = LlamaModel.init(cfg, 42);           // or LlamaModel.fromWeights(cfg, tensors)
 *   m.setFinetuning({ finetuningType: 'lora', rank: 8 });
 *   const logits = m.forward(batch);              // [B, T, V], inside tf.tidy
 *   const sum = m.lossSum(batch);                 // Σ token losses (for tf.variableGrads)
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { shiftedTargets, type LabelledBatch } from '../loss';
import { headCrossEntropySum } from '../ops/head-cross-entropy';
import { attention } from '../ops/attention';
import { additiveMaskRow } from '../ops/attention-mask';
import { embed } from '../ops/embedding';
import { linear } from '../ops/linear';
import { rmsNorm } from '../ops/rmsnorm';
import { applyRope, ropeTables } from '../ops/rope';
import { customOp } from '../ops/custom-op';
import { siluMul } from '../ops/swiglu';
import type { LlamaConfig } from './config';
import { freezeTrainableNames, type FreezeOptions } from './freeze';
import { positionsOf, validateInputs, type ModelInputs } from './inputs';
import { LoraAdapters, type LoraOptions } from './lora';
import { linearPath, parameterShapes, type LinearModule } from './names';
import { recomputeGrads } from './recompute';
import { hashSeed, normalArray } from './rng';

export type FinetuningArgs =
  | { finetuningType: 'full' }
  | ({ finetuningType: 'freeze' } & FreezeOptions)
  | ({ finetuningType: 'lora'; seed?: number } & LoraOptions);

export interface ForwardOptions {
  /** Seed for LoRA dropout; given only in training (no dropout without it). */
  dropoutSeed?: number;
}

/** What every decoder layer of one forward pass shares. */
interface LayerContext {
  N: number;
  cos: tf.Tensor3D;
  sin: tf.Tensor3D;
  masks: tf.Tensor2D[];
  shape: { batchSize: number; seqLen: number; heads: number; kvHeads: number; headDim: number };
  opts: ForwardOptions;
}

/**
 * Receives a trainable base parameter's gradient (HF name) during a backward pass, once it is
 * final for the pass; `grad` lives only during the call.
 */
export type GradientHook = (name: string, grad: tf.Tensor) => void;

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export class LlamaModel {
  readonly config: LlamaConfig;
  /** Base parameters keyed by Hugging Face names (`lm_head.weight` absent when tied). */
  readonly params: Map<string, tf.Variable>;
  private trainableBase: Set<string>;
  private adapters: LoraAdapters | null = null;
  private kind: FinetuningArgs['finetuningType'] = 'full';
  /** Decoder layers, counted from the bottom, that recompute their activations in the backward pass. */
  private checkpointed = 0;
  private gradHook: GradientHook | null = null;
  /** The tied embedding/head matrix of the current pass, handed over once (set when a hook is). */
  private tiedHandOver: tf.Tensor | null = null;

  private constructor(config: LlamaConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
    this.trainableBase = new Set(params.keys());
  }

  /** Hugging Face's init: N(0, initializer_range²) for embeddings and linears, ones for norms. */
  static init(cfg: LlamaConfig, seed: number): LlamaModel {
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of parameterShapes(cfg)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data =
        shape.length === 1
          ? new Float32Array(size).fill(1)
          : normalArray(size, cfg.initializerRange, hashSeed(seed, name));
      params.set(name, tf.tidy(() => tf.variable(tf.tensor(data, shape), true)));
    }
    return new LlamaModel(cfg, params);
  }

  /**
   * A model over given tensors (float32, HF names and shapes). A tied `lm_head.weight` and
   * rotary `inv_freq` buffers are ignored; any other unknown, missing or misshapen tensor is an error.
   */
  static fromWeights(cfg: LlamaConfig, weights: Map<string, WeightTensor>, source = 'weights'): LlamaModel {
    const shapes = parameterShapes(cfg);
    for (const name of weights.keys()) {
      if (shapes.has(name)) continue;
      if (name === 'lm_head.weight' && cfg.tieWordEmbeddings) continue;
      if (name.endsWith('rotary_emb.inv_freq')) continue;
      throw new PtflowError(`${source}: tensor "${name}" is not a parameter of this Llama config`);
    }
    const params = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of shapes) {
        const w = weights.get(name);
        if (!w) throw new PtflowError(`${source}: tensor "${name}" is missing (expected shape [${shape}])`);
        const size = shape.reduce((a, b) => a * b, 1);
        if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]) || w.data.length !== size) {
          throw new PtflowError(
            `${source}: tensor "${name}" has shape [${w.shape}] (${w.data.length} values), expected [${shape}]`,
          );
        }
        params.set(name, tf.tidy(() => tf.variable(tf.tensor(w.data, shape), true)));
      }
    } catch (e) {
      for (const v of params.values()) v.dispose();
      throw e;
    }
    return new LlamaModel(cfg, params);
  }

  /** Chooses what trains. LoRA creates fresh adapters (A seeded, B zero) and freezes the base. */
  setFinetuning(args: FinetuningArgs): void {
    this.adapters?.dispose();
    this.adapters = null;
    this.kind = args.finetuningType;
    switch (args.finetuningType) {
      case 'full':
        this.trainableBase = new Set(this.params.keys());
        break;
      case 'freeze':
        this.trainableBase = freezeTrainableNames(this.config, args);
        break;
      case 'lora':
        this.trainableBase = new Set();
        this.adapters = new LoraAdapters(this.config, args, args.seed ?? 42);
        break;
    }
  }

  get finetuningType(): FinetuningArgs['finetuningType'] {
    return this.kind;
  }

  /** The LoRA adapters (PEFT names), or null when not training LoRA. */
  get lora(): LoraAdapters | null {
    return this.adapters;
  }

  /** The tensors that receive gradients: base parameters (full/freeze) or adapter tensors (lora). */
  trainableParams(): Map<string, tf.Variable> {
    if (this.adapters) return new Map(this.adapters.params);
    const out = new Map<string, tf.Variable>();
    for (const [n, v] of this.params) if (this.trainableBase.has(n)) out.set(n, v);
    return out;
  }

  /** Logits [B, T, V]; all intermediates are released. */
  forward(x: ModelInputs, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => tf.reshape(this.logits2d(x, opts), [x.batchSize, x.seqLen, this.config.vocabSize]));
  }

  /**
   * Σ of token losses of a labelled micro-batch (call inside `tf.variableGrads` or `tf.tidy`).
   * The head and the cross-entropy run over row chunks (ops/head-cross-entropy.ts): the [B·T, V]
   * logits and their gradient never exist at once.
   */
  lossSum(b: ModelInputs & LabelledBatch, opts: ForwardOptions = {}): tf.Scalar {
    this.tiedHandOver = null;
    const h = this.hidden2d(b, opts);
    const headName = this.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    return headCrossEntropySum(h, this.p2(headName), shiftedTargets(b, this.config.vocabSize), this.trains(headName));
  }

  /** Logits [B·T, V] without a tidy of its own (so gradients can flow). */
  logits2d(x: ModelInputs, opts: ForwardOptions = {}): tf.Tensor2D {
    this.tiedHandOver = null;
    const headName = this.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    return linear(this.hidden2d(x, opts), this.p2(headName), this.trains(headName));
  }

  /** The final norm's output [B·T, D] (the head's input), without a tidy of its own. */
  private hidden2d(x: ModelInputs, opts: ForwardOptions): tf.Tensor2D {
    const c = this.config;
    validateInputs(x, c.vocabSize);
    const { batchSize: B, seqLen: T } = x;
    const N = B * T;
    const maskInputs = { ...x, attentionMask: x.attentionMask ?? new Int32Array(N).fill(1) };
    const masks: tf.Tensor2D[] = [];
    for (let r = 0; r < B; r++) masks.push(tf.tensor2d(additiveMaskRow(maskInputs, r), [T, T]));
    const { cos, sin } = ropeTables(positionsOf(x), c.headDim, c.ropeTheta);
    const ctx: LayerContext = {
      N, cos, sin, masks, opts,
      shape: { batchSize: B, seqLen: T, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim },
    };

    const embedName = 'model.embed_tokens.weight';
    let h = embed(this.p2(embedName), tf.tensor1d(x.inputIds, 'int32'), this.trains(embedName));
    for (let i = 0; i < c.numHiddenLayers; i++) {
      h = i < this.checkpointed ? this.checkpointedLayer(i, h, ctx) : this.decoderLayer(i, h, ctx);
    }
    return this.norm(h, 'model.norm.weight', c.rmsNormEps);
  }

  /**
   * Gradient checkpointing (HF `gradient_checkpointing_enable`): each decoder layer keeps only
   * its input for the backward pass and recomputes its activations there. Gradients are
   * bit-identical to the run without it (same kernels on the same inputs); the cost is one more
   * forward pass of the layers. `true`: every layer; a number: that many of the bottom layers
   * (the rest keep their activations). The bottom ones, because the backward pass reaches them
   * last: the layers above have freed their activations by the time these are recomputed.
   */
  setGradientCheckpointing(on: boolean | number): void {
    const L = this.config.numHiddenLayers;
    if (typeof on === 'number' && !(Number.isInteger(on) && on >= 0 && on <= L)) {
      throw new PtflowError(`gradient checkpointing: ${on} layers is not a whole number from 0 to ${L}`);
    }
    this.checkpointed = on === true ? L : on === false ? 0 : on;
  }

  /** Whether any layer recomputes its activations. */
  get gradientCheckpointing(): boolean {
    return this.checkpointed > 0;
  }

  /** How many of the bottom decoder layers recompute their activations. */
  get checkpointedLayers(): number {
    return this.checkpointed;
  }

  /**
   * While set, every trainable base parameter (full / freeze; not LoRA adapters) enters the forward
   * pass through an identity op whose gradient function hands the parameter's gradient to `hook`:
   * that op's upstream gradient is the sum over all of the parameter's uses, so it is final when
   * the backward pass reaches it (the tied embedding/head matrix goes through one such op per pass).
   * The gradients tfjs returns are unchanged. Data-parallel training starts a bucket's allreduce
   * from there, while the backward pass goes on with the earlier layers.
   */
  setGradientHook(hook: GradientHook | null): void {
    this.gradHook = hook;
    this.tiedHandOver = null;
  }

  /**
   * The untied token embedding when it trains (full / freeze): its gradient is a scatter of the
   * input ids' rows, zero everywhere else, so data-parallel training sums only those rows
   * (src/distributed/grad-buckets.ts). Null when tied (the head's gradient is dense) or frozen.
   */
  rowSparseParam(): string | null {
    const name = 'model.embed_tokens.weight';
    return !this.config.tieWordEmbeddings && this.trains(name) ? name : null;
  }

  /** One decoder layer: `h + attn(norm(h))`, then `+ mlp(norm(·))`. */
  private decoderLayer(i: number, h: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const { N, cos, sin, masks, shape, opts } = ctx;
    const { heads: H, kvHeads: KV, headDim: hd } = shape;
    const eps = this.config.rmsNormEps;
    const proj = (inp: tf.Tensor2D, m: LinearModule): tf.Tensor2D => this.project(inp, i, m, opts);
    let xn = this.norm(h, `model.layers.${i}.input_layernorm.weight`, eps);
    const q = tf.reshape(applyRope(tf.reshape(proj(xn, 'q_proj'), [N, H, hd]), cos, sin), [N, H * hd]);
    const k = tf.reshape(applyRope(tf.reshape(proj(xn, 'k_proj'), [N, KV, hd]), cos, sin), [N, KV * hd]);
    const v = proj(xn, 'v_proj');
    h = tf.add(h, proj(attention(q as tf.Tensor2D, k as tf.Tensor2D, v, masks, shape), 'o_proj'));
    xn = this.norm(h, `model.layers.${i}.post_attention_layernorm.weight`, eps);
    return tf.add(h, proj(siluMul(proj(xn, 'gate_proj'), proj(xn, 'up_proj')), 'down_proj'));
  }

  /**
   * `decoderLayer` as one op whose only saved tensor is its input: the forward runs inside the
   * op (no tape, intermediates freed at once); the backward recomputes the layer under a tape of
   * its own and takes the gradients of its input and of the layer's trainable tensors from it.
   */
  private checkpointedLayer(i: number, h: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const trainable = this.layerTrainables(i);
    return customOp<tf.Tensor2D>(([hIn], save) => {
      // The rope tables and masks are freed with the forward pass's scope: keep them for the recompute.
      save([hIn, ctx.cos, ctx.sin, ...ctx.masks]);
      return {
        value: this.decoderLayer(i, hIn as tf.Tensor2D, ctx),
        gradFunc: (dy, [saved, cos, sin, ...masks]) => {
          const again: LayerContext = { ...ctx, cos: cos as tf.Tensor3D, sin: sin as tf.Tensor3D, masks: masks as tf.Tensor2D[] };
          return recomputeGrads(() => this.decoderLayer(i, saved as tf.Tensor2D, again), [saved, ...trainable], dy);
        },
      };
    })(h, ...trainable);
  }

  /** The tensors of layer `i` that receive gradients (base weights or LoRA adapters). */
  private layerTrainables(i: number): tf.Variable[] {
    const prefix = `model.layers.${i}.`;
    const src = this.adapters ? this.adapters.params : this.params;
    const out: tf.Variable[] = [];
    for (const [n, v] of src) {
      if (!n.includes(prefix)) continue;
      if (this.adapters || this.trainableBase.has(n)) out.push(v);
    }
    return out;
  }

  /** Frees every tensor of the model. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.adapters?.dispose();
    this.adapters = null;
  }

  private trains(name: string): boolean {
    return this.adapters === null && this.trainableBase.has(name);
  }

  private p2(name: string): tf.Tensor2D {
    const v = this.params.get(name);
    if (!v) throw new PtflowError(`model: parameter "${name}" is missing`);
    return this.handedOver(name, v) as tf.Tensor2D;
  }

  private norm(x: tf.Tensor2D, name: string, eps: number): tf.Tensor2D {
    return rmsNorm(x, this.handedOver(name, this.params.get(name) as tf.Variable) as tf.Tensor1D, eps, this.trains(name));
  }

  /** `v` itself, or (while a gradient hook is set and `name` trains) `v` through the hand-over op. */
  private handedOver(name: string, v: tf.Variable): tf.Tensor {
    const hook = this.gradHook;
    if (hook === null || !this.trains(name)) return v;
    const tied = this.config.tieWordEmbeddings && name === 'model.embed_tokens.weight';
    if (tied && this.tiedHandOver !== null && !this.tiedHandOver.isDisposed) return this.tiedHandOver;
    const out = customOp<tf.Tensor>(([w]) => ({
      value: tf.reshape(w, w.shape),
      gradFunc: (dy) => {
        hook(name, dy);
        return dy;
      },
    }))(v);
    if (tied) this.tiedHandOver = out;
    return out;
  }

  private project(x: tf.Tensor2D, layer: number, m: LinearModule, opts: ForwardOptions): tf.Tensor2D {
    const name = `${linearPath(layer, m)}.weight`;
    const y = linear(x, this.p2(name), this.trains(name));
    if (this.adapters && this.adapters.has(m)) {
      return tf.add(y, this.adapters.delta(x, layer, m, opts.dropoutSeed));
    }
    return y;
  }
}
