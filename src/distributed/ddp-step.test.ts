/**
 * Data-parallel optimizer steps (TrainStep.stepAcross + GradStream) against one process taking
 * the same global batch: 2 ranks × batch 4 (and 4 ranks × batch 2) vs 1 process × batch 8, gradient
 * accumulation 2, three AdamW steps with clipping, on ranks simulated in one thread (inMemoryWorld).
 *
 * Tolerance. The two runs compute the same sums in another order: a weight's gradient is a sum over
 * the window's 2 × 8 × 11 token positions, which one process adds in one float32 reduction per
 * micro-batch and N ranks add per slice, then across ranks; float32 rounding (ε = 2⁻²⁴ ≈ 6e-8 per
 * addition, ~10 additions deep) differs by a few ulps of the largest partial sum, i.e. a relative
 * error of order 1e-6 of the gradient's scale. AdamW's first update is lr·g/(|g| + ε_adam), so a
 * relative gradient error r moves a weight by ≈ lr·r; over three steps at lr 1e-2 that is ≪ 1e-6
 * absolute. We check gradients to 1e-5 relative (+1e-7 absolute), losses to 1e-6 relative, and the
 * weights after three steps to 2e-6 absolute (weights are O(1)): tight enough that giving one rank's
 * slice a wrong scale (its own label count instead of the global one) or averaging instead of summing
 * fails by orders of magnitude.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { MicroBatch } from '../engine/batch';
import { randomWeights, tinyConfig } from '../engine/gradcheck/fixtures';
import { LlamaModel } from '../engine/model/llama';
import { AdamW } from '../engine/optim/adamw';
import { TrainStep, type OptimizerLike } from '../engine/train-step';
import { collate, emptyShareBatch, isEmptyShare } from '../data/collate';
import { Rng } from '../data/rng';
import { GradBuckets, GradStream, gradLayout, type GradLayout, type ReduceStats } from './grad-buckets';
import type { Collective } from './collective';
import type { GradReduction } from '../engine/train-step';
import { inMemoryWorld } from './testing/in-memory-world';
import { singleProcess } from './collective';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cfg = tinyConfig();
const SEQ = 12;

/** 48 rows of SEQ random tokens below `limit` (packed blocks: every row full). */
function rows(limit = cfg.vocabSize): Int32Array[] {
  const rng = new Rng(5, 0);
  return Array.from({ length: 48 }, () => Int32Array.from({ length: SEQ }, () => rng.nextBelow(limit)));
}

/** Global micro-batch m has rows [8m, 8m+8); rank r of W takes its slice of 8 / W. */
function slice(all: Int32Array[], m: number, rank: number, world: number): MicroBatch {
  const per = 8 / world;
  const part = all.slice(8 * m + rank * per, 8 * m + (rank + 1) * per);
  return part.length > 0 ? collate(part, 0) : emptyShareBatch(0);
}

/** Keeps a copy of the gradients it is given, then applies a real AdamW. */
class Recording implements OptimizerLike {
  grads: Map<string, Float32Array>[] = [];
  constructor(private readonly inner: AdamW) {}
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.grads.push(new Map([...grads].map(([n, g]) => [n, (g.dataSync() as Float32Array).slice()])));
    this.inner.step(grads, lr);
  }
}

/**
 * `handOver: false` gives TrainStep the model without its gradient hook, so every gradient reaches
 * the allreduce after the backward pass.
 */
function trainer(seed = 3, opts: { config?: typeof cfg; checkpointing?: boolean; handOver?: boolean; rowSparse?: boolean; idLimit?: number } = {}) {
  const config = opts.config ?? cfg;
  const model = LlamaModel.fromWeights(config, randomWeights(config, seed));
  model.setGradientCheckpointing(opts.checkpointing ?? false);
  const opt = new Recording(new AdamW(model.trainableParams(), { weightDecay: 0.01 }));
  const stepModel =
    opts.handOver === false
      ? { trainableParams: () => model.trainableParams(), lossSum: model.lossSum.bind(model), rowSparseParam: () => model.rowSparseParam() }
      : model;
  const ts = new TrainStep(stepModel, opt, (s) => 1e-2 * (1 - s / 10), { maxGradNorm: 1 });
  return { model, opt, ts };
}

/**
 * One step's GradStream over `plan` (a rank's GradBuckets, reused step after step, or a layout); its
 * stats go to `stats`. `sparseRows`: the rows of the plan's row-sparse parameter.
 */
function streamOf(plan: GradBuckets | GradLayout, c: Collective, bucketBytes?: number, stats?: ReduceStats[], sparseRows: Int32Array | null = null): GradReduction {
  const s = new GradStream(plan, c, bucketBytes, sparseRows);
  return {
    offer: (n, g) => s.offer(n, g),
    finish: async (g, alsoSum) => {
      const r = await s.finish(g, alsoSum);
      stats?.push(r.stats);
      return r.grads;
    },
  };
}

function weights(model: LlamaModel): Map<string, Float32Array> {
  return new Map([...model.trainableParams()].map(([n, v]) => [n, (v.dataSync() as Float32Array).slice()]));
}

/** `opts.rowSparse`: the untied embedding is summed by rows (GradBuckets' rowSparse); otherwise densely. */
async function runWorld(world: number, steps: number, bucketBytes: number, opts: Parameters<typeof trainer>[1] = {}) {
  const all = rows(opts.idLimit);
  const ranks = inMemoryWorld(world).map((c) => ({ c, ...trainer(3, opts) }));
  const out = ranks.map(() => [] as { loss: number; gradNorm: number; tokens: number; lossTokens: number }[]);
  const stats: ReduceStats[] = [];
  const sparseRows: Int32Array[] = [];
  await Promise.all(ranks.map(async ({ c, model, ts }, r) => {
    const rowSparse = opts.rowSparse ? (model.rowSparseParam() ?? undefined) : undefined;
    const buckets = new GradBuckets(gradLayout(model.trainableParams()), bucketBytes, rowSparse);
    for (let s = 0; s < steps; s++) {
      const micro = [slice(all, 2 * s, r, world), slice(all, 2 * s + 1, r, world)];
      const res = await ts.stepAcross(micro, c, (rowsOf) => {
        if (r === 0 && rowsOf !== null) sparseRows.push(rowsOf);
        return streamOf(buckets, c, bucketBytes, stats, rowSparse !== undefined ? rowsOf : null);
      });
      out[r].push(res);
    }
  }));
  return { ranks, results: out, stats, sparseRows, all };
}

function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let m = 0;
  for (const [n, x] of a) {
    const y = b.get(n) as Float32Array;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  }
  return m;
}

describe('data-parallel step (TrainStep.stepAcross)', () => {
  const STEPS = 3;
  let one: ReturnType<typeof trainer>;
  let oneResults: ReturnType<TrainStep['step']>[];

  beforeAll(() => {
    const all = rows();
    one = trainer();
    oneResults = [];
    for (let s = 0; s < STEPS; s++) oneResults.push(one.ts.step([slice(all, 2 * s, 0, 1), slice(all, 2 * s + 1, 0, 1)]));
  });

  it.each([
    [2, 1 << 30], // one bucket
    [2, 256], // many small buckets
    [4, 1000],
  ])('%i ranks (buckets of %i bytes) equal one process with the whole global batch', async (world, bucketBytes) => {
    const { ranks, results } = await runWorld(world, STEPS, bucketBytes);
    for (let r = 0; r < world; r++) {
      for (let s = 0; s < STEPS; s++) {
        const a = results[r][s];
        const b = oneResults[s];
        expect(a.tokens).toBe(b.tokens);
        expect(a.lossTokens).toBe(b.lossTokens);
        expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(b.loss));
        expect(Math.abs(a.gradNorm - b.gradNorm)).toBeLessThanOrEqual(1e-5 * b.gradNorm);
        // The gradients the optimizer applied (after the allreduce and clipping).
        for (const [n, g1] of one.opt.grads[s]) {
          const g = ranks[r].opt.grads[s].get(n) as Float32Array;
          for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - g1[i])).toBeLessThanOrEqual(1e-7 + 1e-5 * Math.abs(g1[i]));
        }
      }
      expect(maxAbsDiff(weights(ranks[r].model), weights(one.model))).toBeLessThanOrEqual(2e-6);
    }
    // Every rank holds the same weights, bit for bit (they applied the same sums).
    for (let r = 1; r < world; r++) expect(maxAbsDiff(weights(ranks[r].model), weights(ranks[0].model))).toBe(0);
    for (const x of ranks) x.model.dispose();
  });

  it('a rank whose slice is empty sends zeros and still takes the same step', async () => {
    // 12 rows, 2 ranks × batch 4 → global micro-batches of 8 and 4: rank 1 has nothing in the second.
    const all = rows().slice(0, 12);
    const oneP = trainer();
    const ref = oneP.ts.step([collate(all.slice(0, 8), 0), collate(all.slice(8), 0)]);
    const world = inMemoryWorld(2).map((c) => ({ c, ...trainer() }));
    const got = await Promise.all(world.map(({ c, model, ts }, r) => {
      const second = r === 0 ? collate(all.slice(8, 12), 0) : emptyShareBatch(0);
      expect(isEmptyShare(second)).toBe(r === 1);
      const layout = gradLayout(model.trainableParams());
      return ts.stepAcross([collate(all.slice(4 * r, 4 * r + 4), 0), second], c, () => streamOf(layout, c));
    }));
    for (const g of got) {
      expect(g.lossTokens).toBe(ref.lossTokens);
      expect(Math.abs(g.loss - ref.loss)).toBeLessThanOrEqual(1e-6 * ref.loss);
    }
    expect(maxAbsDiff(weights(world[1].model), weights(oneP.model))).toBeLessThanOrEqual(2e-6);
  });

  it('a rank whose whole window is empty sends zeros, also from buckets an earlier step filled', async () => {
    // 12 rows, 2 ranks × batch 4: the second step's global micro-batch holds 4 rows, all rank 0's.
    const all = rows().slice(0, 12);
    const oneP = trainer();
    oneP.ts.step([collate(all.slice(0, 8), 0)]);
    oneP.ts.step([collate(all.slice(8), 0)]);
    const world = inMemoryWorld(2).map((c) => ({ c, ...trainer() }));
    await Promise.all(world.map(async ({ c, model, ts }, r) => {
      const buckets = new GradBuckets(gradLayout(model.trainableParams()));
      await ts.stepAcross([collate(all.slice(4 * r, 4 * r + 4), 0)], c, () => streamOf(buckets, c));
      const second = r === 0 ? collate(all.slice(8, 12), 0) : emptyShareBatch(0);
      await ts.stepAcross([second], c, () => streamOf(buckets, c));
    }));
    for (const { model } of world) expect(maxAbsDiff(weights(model), weights(oneP.model))).toBeLessThanOrEqual(2e-6);
  });

  // The last backward pass hands each gradient to the allreduce as soon as it is final: the same
  // values as handing them all over after the pass, bit for bit, and buckets start during the pass.
  it.each([
    ['untied head', {}],
    ['gradient checkpointing', { checkpointing: true }],
    ['tied embedding and head (one hand-over for both uses)', { config: tinyConfig({ tie_word_embeddings: true }) }],
  ])('gradients handed over during backward (%s) give the same step as after it, bit for bit', async (_, opts) => {
    const early = await runWorld(2, 2, 256, opts);
    const late = await runWorld(2, 2, 256, { ...opts, handOver: false });
    for (let r = 0; r < 2; r++) {
      expect(early.results[r]).toEqual(late.results[r]);
      for (let s = 0; s < 2; s++) expect(early.ranks[r].opt.grads[s]).toEqual(late.ranks[r].opt.grads[s]);
      expect(maxAbsDiff(weights(early.ranks[r].model), weights(late.ranks[r].model))).toBe(0);
    }
    expect(late.stats.every((st) => st.earlyBytes === 0)).toBe(true);
    // Every parameter trains and passes the hand-over op, so every bucket starts during backward.
    expect(early.stats).toHaveLength(4); // 2 ranks × 2 steps
    for (const st of early.stats) expect(st.earlyBytes).toBe(st.bytes);
    for (const x of [...early.ranks, ...late.ranks]) x.model.dispose();
  });

  // The untied embedding's gradient summed over the rows in use only: the same step as the dense
  // sum, bit for bit, with fewer bytes sent. Ids below 40 of a vocabulary of 64: rows 40–63 are
  // never used, and each rank's window misses some of the 40 that the other ranks' windows use.
  it.each([
    [2, 256, true],
    [4, 1 << 30, true],
    [2, 256, false], // gradients handed over after the backward pass
  ])('%i ranks (buckets of %i bytes, hand-over during backward: %s): the embedding summed by rows gives the dense step, bit for bit', async (world, bucketBytes, handOver) => {
    const config = tinyConfig({ vocab_size: 64 });
    const opts = { config, idLimit: 40, handOver };
    const sparse = await runWorld(world, 3, bucketBytes, { ...opts, rowSparse: true });
    const dense = await runWorld(world, 3, bucketBytes, opts);
    for (let r = 0; r < world; r++) {
      expect(sparse.results[r]).toEqual(dense.results[r]);
      for (let s = 0; s < 3; s++) expect(sparse.ranks[r].opt.grads[s]).toEqual(dense.ranks[r].opt.grads[s]);
      expect(maxAbsDiff(weights(sparse.ranks[r].model), weights(dense.ranks[r].model))).toBe(0);
    }
    // The rows sent each step: the ids of the step's whole global window (all ranks), found independently.
    const D = config.hiddenSize;
    expect(sparse.sparseRows).toHaveLength(3);
    for (let s = 0; s < 3; s++) {
      const ids = new Set(sparse.all.slice(16 * s, 16 * s + 16).flatMap((row) => Array.from(row)));
      const expected = [...ids].sort((a, b) => a - b);
      expect(Array.from(sparse.sparseRows[s])).toEqual(expected);
      expect(expected.length).toBeLessThan(40 + 1);
      // Every rank sent (64 − rows) × D fewer floats than the dense sum.
      for (let r = 0; r < world; r++) expect(dense.stats[s * world + r].bytes - sparse.stats[s * world + r].bytes).toBe(4 * (64 - expected.length) * D);
    }
    // Steps use different rows (ids drawn at random): a row used by one step and not the next must be zero there.
    expect(sparse.sparseRows[0]).not.toEqual(sparse.sparseRows[1]);
    for (const x of [...sparse.ranks, ...dense.ranks]) x.model.dispose();
  });

  it('with one rank stepAcross is step, bit for bit', async () => {
    const all = rows();
    const a = trainer();
    const b = trainer();
    const micro = () => [slice(all, 0, 0, 1), slice(all, 1, 0, 1)];
    const ra = a.ts.step(micro());
    const rb = await b.ts.stepAcross(micro(), singleProcess, () => {
      throw new Error('no reduce with one rank');
    });
    expect(rb).toEqual(ra);
    expect(maxAbsDiff(weights(a.model), weights(b.model))).toBe(0);
  });
});
