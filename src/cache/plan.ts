/**
 * The document order of each split, computed from document counts alone, so a corpus never has to be
 * held in memory: documents are named by a global source index (dataset after dataset, each dataset's
 * documents in file order), and the same selection, mixing and split functions DatasetShardActor
 * applies to documents are applied here to those indices (`trainTestSplit` re-done on typed arrays,
 * and a single unsampled dataset kept typed: 4 bytes per document). The result is the exact order
 * `ptflow train` would see.
 *
 *   planSplits(train, eval, opts) → { train: Uint32Array, validation: Uint32Array, sources }
 *
 * `train` / `eval` give, per dataset, how many documents were read (already capped at max_samples,
 * as `collectDocs` stops there) and its num_samples.
 */
import { mixDatasets, type MixStrategy } from '../data/mix';
import { Rng } from '../data/rng';
import { sampleDocs, splitSizes, takeFirst } from '../data/split';

export interface SourceCount {
  name: string;
  /** Documents read from its files (at most max_samples). */
  count: number;
  numSamples?: number;
}

export interface PlanOptions {
  maxSamples: number | null;
  mixStrategy: MixStrategy;
  interleaveProbs: readonly number[] | null;
  valSize: number;
  seed: number;
  /** Build a training split (a `dataset` is configured). */
  doTrain: boolean;
}

export interface SplitPlan {
  /** Global source indices in training order. */
  train: Uint32Array;
  /** Global source indices in validation order (val_size split or eval_dataset). */
  validation: Uint32Array;
  /** Source documents in all: train datasets first, then eval datasets. */
  sources: number;
}

/** Documents of one role (train or eval datasets) after selection and mixing, as global indices. */
function merged(counts: readonly SourceCount[], base: number, o: PlanOptions): Uint32Array {
  if (counts.length === 1 && counts[0].numSamples === undefined) {
    // One dataset, no sampling: its first max_samples documents in order (typed, 4 bytes each).
    const n = o.maxSamples === null ? counts[0].count : Math.min(counts[0].count, o.maxSamples);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = base + i;
    return out;
  }
  const lists: number[][] = [];
  let offset = base;
  for (const c of counts) {
    let docs = Array.from({ length: c.count }, (_, i) => offset + i);
    offset += c.count;
    if (c.numSamples !== undefined) docs = sampleDocs(docs, c.numSamples, new Rng(o.seed), c.name);
    lists.push(takeFirst(docs, o.maxSamples ?? undefined));
  }
  return Uint32Array.from(
    mixDatasets(lists, { strategy: o.mixStrategy, probs: o.interleaveProbs ?? undefined, seed: o.seed, names: counts.map((c) => c.name) }),
  );
}

/** `trainTestSplit` on a typed list: test = the first n_test entries of the seeded permutation, train = the rest. */
function split(order: Uint32Array, valSize: number, seed: number): { train: Uint32Array; test: Uint32Array } {
  const { test: nTest } = splitSizes(order.length, valSize);
  if (nTest === 0) return { train: order, test: new Uint32Array(0) };
  const perm = new Rng(seed).permutation(order.length);
  for (let i = 0; i < perm.length; i++) perm[i] = order[perm[i]];
  return { train: perm.subarray(nTest), test: perm.subarray(0, nTest) };
}

export function planSplits(train: readonly SourceCount[], evalSets: readonly SourceCount[], o: PlanOptions): SplitPlan {
  const trainSources = train.reduce((a, c) => a + c.count, 0);
  const evalSources = evalSets.reduce((a, c) => a + c.count, 0);
  let trainOrder: Uint32Array = o.doTrain ? merged(train, 0, o) : new Uint32Array(0);
  let evalOrder: Uint32Array = new Uint32Array(0);
  if (evalSets.length > 0) evalOrder = merged(evalSets, trainSources, o);
  else if (o.valSize > 0 && o.doTrain) {
    const s = split(trainOrder, o.valSize, o.seed);
    trainOrder = s.train;
    evalOrder = s.test;
  }
  return { train: trainOrder, validation: evalOrder, sources: trainSources + evalSources };
}
