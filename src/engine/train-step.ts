/**
 * One optimizer step over a gradient-accumulation window, with Hugging Face semantics: each
 * micro-batch's summed token loss is divided by the token count of the WHOLE window, gradients
 * are summed over the micro-batches, clipped by global norm, and AdamW applies
 * `lr = lrAt(stepsDone)`. The reported loss is Σ token losses / window count.
 *
 *   const ts = new TrainStep(model, adamw, (s) => schedule.lrAt(s), { maxGradNorm: 1 });
 *   const { loss, gradNorm, lr, tokens } = ts.step(window);   // throws NonFiniteError on NaN/Inf
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../errors';
import { countLossTokens, type MicroBatch } from './batch';
import { asOutOfMemory, OutOfMemoryError } from './memory/out-of-memory';
import { clipByGlobalNorm } from './optim/clip';
import { hashSeed } from './model/rng';
import type { Collective } from '../distributed/collective';

/** What the step needs of a model. `LlamaModel` is one. */
export interface TrainableModel {
  trainableParams(): Map<string, tf.Variable>;
  /** Σ of token losses of `b`; `dropoutSeed` is given in training only. */
  lossSum(b: MicroBatch, opts?: { dropoutSeed?: number }): tf.Scalar;
  /** Hands each trainable parameter's gradient (by its trainableParams name) to `hook` during backward, once final (LlamaModel.setGradientHook). */
  setGradientHook?(hook: ((name: string, grad: tf.Tensor) => void) | null): void;
  /** The trainable parameter [vocab, D] whose gradient is zero outside the rows of the input ids (an untied token embedding), or null. */
  rowSparseParam?(): string | null;
}

/** What the step needs of an optimizer (`AdamW` of optim/adamw.ts). It must not dispose `grads`. */
export interface OptimizerLike {
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;
}

/** Global-norm clipping; takes ownership of `grads`, returns the norm before clipping. */
export type ClipFn = (grads: Map<string, tf.Tensor>, maxNorm: number) => { grads: Map<string, tf.Tensor>; norm: number };

export interface TrainStepOptions {
  /** `max_grad_norm`; ≤ 0 disables clipping (the norm is still reported). Default 1. */
  maxGradNorm?: number;
  /** Skip the update of a step whose loss or gradient norm is not finite instead of throwing. */
  skipNonFinite?: boolean;
  /** Seed of LoRA dropout masks (per step and micro-batch). Default 42. */
  seed?: number;
  /** Clipping function (default `clipByGlobalNorm` of optim/clip.ts). */
  clip?: ClipFn;
  /** Appended to an out-of-memory error: what the run needs and which settings would fit. */
  memoryHint?: () => string;
  /** Data-parallel: hand each gradient to the allreduce during the last backward pass (default true; false: after it). */
  handOverGradients?: boolean;
}

export interface StepResult {
  /** Σ token losses / token count of the window. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rate applied in this step. */
  lr: number;
  /** Real (attention-mask = 1) tokens in the window. */
  tokens: number;
  /** Tokens that counted in the loss. */
  lossTokens: number;
  /** True when the update was skipped (non-finite values with `skipNonFinite`). */
  skipped: boolean;
}

/** A step produced a non-finite loss or gradient norm. */
export class NonFiniteError extends PtflowError {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
    reason: string,
  ) {
    super(`optimizer step ${step}: ${reason} (loss ${loss}, grad_norm ${gradNorm})`, 1);
    this.name = 'NonFiniteError';
  }
}

/**
 * One step's sum of gradients over the ranks (src/distributed/grad-buckets.ts GradStream): `offer`
 * takes a parameter's final gradient of the step during the last backward pass (copied at once, not
 * kept), `finish` the step's gradients (taken over) and returns the sums; `alsoSum` is summed over the
 * ranks in place, after the last bucket (one wait for both).
 */
export interface GradReduction {
  offer(name: string, grad: tf.Tensor): void;
  finish(grads: Map<string, tf.Tensor>, alsoSum?: Float64Array): Promise<Map<string, tf.Tensor>>;
}
/**
 * A step's GradReduction. `sparseRows`: when the model has a row-sparse parameter (rowSparseParam),
 * the rows of it that any rank's input ids touch this step (ascending, the same on every rank); the
 * other rows of its gradient are zero on every rank. Null otherwise.
 */
export type GradReducer = (sparseRows: Int32Array | null) => GradReduction;

interface WindowRun {
  /** Gradients summed so far (owned: disposed by the caller's finally). */
  acc: Map<string, tf.Tensor>;
  lossT: tf.Scalar | null;
  /** What the step was doing, for an out-of-memory message. */
  where: string;
}

/** Labelled tokens (the loss's denominator) and real tokens of a window. */
function windowCounts(micro: MicroBatch[]): { count: number; tokens: number } {
  let count = 0;
  let tokens = 0;
  for (const b of micro) {
    count += countLossTokens(b);
    for (let i = 0; i < b.attentionMask.length; i++) tokens += b.attentionMask[i] !== 0 ? 1 : 0;
  }
  return { count, tokens };
}

/** The indices of the non-zero entries of `used`, ascending. */
function rowsInUse(used: Float64Array): Int32Array {
  let n = 0;
  for (let i = 0; i < used.length; i++) if (used[i] !== 0) n++;
  const rows = new Int32Array(n);
  for (let i = 0, k = 0; i < used.length; i++) if (used[i] !== 0) rows[k++] = i;
  return rows;
}

export class TrainStep {
  /** Optimizer steps taken (or skipped) so far; the next step uses `lrAt(stepsDone)`. */
  stepsDone = 0;
  private readonly maxGradNorm: number;
  private readonly skipNonFinite: boolean;
  private readonly seed: number;
  private readonly clip: ClipFn;
  private readonly memoryHint: () => string;
  private readonly handOverGradients: boolean;
  /** stepAcross's counts and row flags, reused step after step (a fresh one would page-fault every step). */
  private sums: Float64Array | null = null;

  constructor(
    private readonly model: TrainableModel,
    private readonly optimizer: OptimizerLike,
    private readonly lrAt: (step: number) => number,
    opts: TrainStepOptions = {},
  ) {
    this.maxGradNorm = opts.maxGradNorm ?? 1;
    this.skipNonFinite = opts.skipNonFinite ?? false;
    this.seed = opts.seed ?? 42;
    this.clip = opts.clip ?? clipByGlobalNorm;
    this.memoryHint = opts.memoryHint ?? (() => '');
    this.handOverGradients = opts.handOverGradients ?? true;
  }

  /** One optimizer step over the micro-batches of one accumulation window. */
  step(micro: MicroBatch[]): StepResult {
    const stepNo = this.stepsDone + 1;
    const lr = this.lrAt(this.stepsDone);
    const { count, tokens } = windowCounts(micro);
    const base = { lr, tokens, lossTokens: count };
    if (count === 0) {
      return this.nonFinite(stepNo, NaN, NaN, 'no token in the window has a label', base);
    }
    const run: WindowRun = { acc: new Map(), lossT: null, where: 'forward/backward' };
    try {
      this.backward(micro, count, run, '');
      run.where = 'gradient clipping';
      const loss = (run.lossT as tf.Scalar | null)?.dataSync()[0] ?? 0;
      return this.update(run, loss, stepNo, base);
    } catch (e) {
      throw this.asOutOfMemory(e, stepNo, run.where);
    } finally {
      run.lossT?.dispose();
      for (const g of run.acc.values()) g.dispose();
    }
  }

  /**
   * One optimizer step of data-parallel training: this rank's micro-batches are its slices of the
   * global window (src/data/epoch-order.ts rankShare). The label count is summed over the ranks first,
   * so each rank scales its token losses by 1 / (the global window's count), exactly as `step` does
   * for the whole window in one process; then the gradients and the loss are summed over the ranks
   * (`reduce`, in fused buckets), and every rank clips and updates with the same sums. With one rank it
   * is `step`. `alsoSum`: the caller's own per-rank values, replaced by their sums over the ranks in the
   * same collective as the label count (one round trip less a step).
   */
  async stepAcross(micro: MicroBatch[], collective: Collective, reduce: GradReducer, alsoSum?: Float64Array): Promise<StepResult> {
    if (collective.size === 1) return this.step(micro);
    const stepNo = this.stepsDone + 1;
    const lr = this.lrAt(this.stepsDone);
    const local = windowCounts(micro);
    // The row-sparse parameter's rows in use: a 1 per input id of this rank, summed with the counts.
    const sparse = this.model.rowSparseParam?.() ?? null;
    const vocab = sparse === null ? 0 : (this.model.trainableParams().get(sparse) as tf.Variable).shape[0];
    const extra = alsoSum?.length ?? 0;
    if (this.sums?.length !== 2 + extra + vocab) this.sums = new Float64Array(2 + extra + vocab);
    const sums = this.sums;
    sums.fill(0);
    sums[0] = local.count;
    sums[1] = local.tokens;
    if (alsoSum) sums.set(alsoSum, 2);
    const used = sums.subarray(2 + extra);
    for (const b of micro) for (let i = 0; i < b.inputIds.length; i++) used[b.inputIds[i]] = 1;
    await collective.allreduce(sums, 'sum');
    if (alsoSum) alsoSum.set(sums.subarray(2, 2 + extra));
    const [count, tokens] = sums;
    const sparseRows = sparse === null ? null : rowsInUse(used);
    const base = { lr, tokens, lossTokens: count };
    if (count === 0) {
      return this.nonFinite(stepNo, NaN, NaN, 'no token in the window has a label', base);
    }
    const run: WindowRun = { acc: new Map(), lossT: null, where: 'forward/backward' };
    try {
      // Ranks draw different dropout masks (one process draws one mask over the whole window).
      const reduction = reduce(sparseRows);
      this.backward(micro, count, run, `:rank${collective.rank}`, reduction);
      run.where = 'gradient allreduce';
      const lossSum = Float64Array.of((run.lossT as tf.Scalar | null)?.dataSync()[0] ?? 0);
      const acc = run.acc;
      run.acc = new Map();
      run.acc = await reduction.finish(acc, lossSum);
      run.where = 'gradient clipping';
      return this.update(run, Math.fround(lossSum[0]), stepNo, base);
    } catch (e) {
      throw this.asOutOfMemory(e, stepNo, run.where);
    } finally {
      run.lossT?.dispose();
      for (const g of run.acc.values()) g.dispose();
    }
  }

  /**
   * Forward/backward of each micro-batch, token losses scaled by 1 / count; gradients summed into
   * run.acc. With `reduction` (data-parallel), the last backward pass offers each parameter's sum
   * over the window to it as soon as the pass has finished that parameter (the same addition
   * `prev + g` as below, so the same values), and its allreduce can start while the pass goes on.
   */
  private backward(micro: MicroBatch[], count: number, run: WindowRun, seedTag: string, reduction?: GradReduction): void {
    const params = this.model.trainableParams();
    if (params.size === 0) throw new PtflowError(`optimizer step ${this.stepsDone + 1}: the model has no trainable parameters`);
    const nameOf = new Map<string, string>();
    for (const [n, v] of params) nameOf.set(v.name, n);
    const vars = [...params.values()];
    let last = -1;
    micro.forEach((b, i) => {
      if (countLossTokens(b) > 0) last = i;
    });
    const handOver = (name: string, g: tf.Tensor): void => {
      if (!params.has(name)) return;
      const prev = run.acc.get(name);
      if (prev) tf.tidy(() => (reduction as GradReduction).offer(name, tf.add(prev, g)));
      else (reduction as GradReduction).offer(name, g);
    };
    micro.forEach((b, i) => {
      run.where = `micro-batch ${i + 1} of ${micro.length} ([${b.batchSize}, ${b.seqLen}] tokens), forward/backward`;
      if (countLossTokens(b) === 0) return;
      const dropoutSeed = hashSeed(this.seed, `${this.stepsDone}:${i}${seedTag}`);
      const hooked = reduction !== undefined && this.handOverGradients && i === last && this.model.setGradientHook !== undefined;
      if (hooked) this.model.setGradientHook?.(handOver);
      let out: { value: tf.Scalar; grads: tf.NamedTensorMap };
      try {
        out = tf.variableGrads(() => tf.mul(this.model.lossSum(b, { dropoutSeed }), 1 / count) as tf.Scalar, vars);
      } finally {
        if (hooked) this.model.setGradientHook?.(null);
      }
      const { value, grads } = out;
      if (run.lossT === null) run.lossT = tf.scalar(0);
      const l = tf.add(run.lossT, value) as tf.Scalar;
      run.lossT.dispose();
      value.dispose();
      run.lossT = l;
      for (const [vname, g] of Object.entries(grads)) {
        const name = nameOf.get(vname) ?? vname;
        const prev = run.acc.get(name);
        if (prev) {
          run.acc.set(name, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        } else run.acc.set(name, g);
      }
    });
  }

  /** Clip, check, apply: the end of a step, the same for one process and for every rank. */
  private update(run: WindowRun, loss: number, stepNo: number, base: { lr: number; tokens: number; lossTokens: number }): StepResult {
    const clipped = this.clip(run.acc, this.maxGradNorm);
    run.acc = clipped.grads;
    const gradNorm = clipped.norm;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(loss) ? 'the loss is not finite' : 'the gradient norm is not finite';
      return this.nonFinite(stepNo, loss, gradNorm, what, base);
    }
    run.where = 'optimizer update';
    this.optimizer.step(run.acc, base.lr);
    this.stepsDone += 1;
    return { ...base, loss, gradNorm, skipped: false };
  }

  private asOutOfMemory(e: unknown, stepNo: number, where: string): unknown {
    const oom = asOutOfMemory(e);
    if (oom === null) return e;
    const hint = this.memoryHint();
    return new OutOfMemoryError(
      oom.requestedBytes,
      oom.heldBytes,
      `optimizer step ${stepNo}, ${where}: ${oom.message}${hint ? `. ${hint}` : ''}`,
    );
  }

  /** Σ token losses and their count over micro-batches (no gradients, no dropout). */
  evaluate(micro: MicroBatch[]): { lossSum: number; count: number } {
    let lossSum = 0;
    let count = 0;
    for (const b of micro) {
      const c = countLossTokens(b);
      if (c === 0) continue;
      const s = tf.tidy(() => this.model.lossSum(b));
      lossSum += s.dataSync()[0];
      s.dispose();
      count += c;
    }
    return { lossSum, count };
  }

  private nonFinite(
    stepNo: number,
    loss: number,
    gradNorm: number,
    reason: string,
    base: { lr: number; tokens: number; lossTokens: number },
  ): StepResult {
    if (!this.skipNonFinite) throw new NonFiniteError(stepNo, loss, gradNorm, reason);
    this.stepsDone += 1;
    return { ...base, loss, gradNorm, skipped: true };
  }
}
