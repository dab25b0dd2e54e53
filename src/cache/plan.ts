/**
 * The document order of each split, computed from document counts alone, so a corpus never has to be
 * held in memory: documents are named by a global source index (dataset after dataset, each dataset's
 * documents in file order), and the same selection, mixing and split functions DatasetShardActor
 * applies to documents are applied here to those indices. The result is the exact order
 * `ptflow train` would see.
 *
 *   planSplits(train, eval, opts) → { train: Uint32Array, validation: Uint32Array, sources }
 *
 * `train` / `eval` give, per dataset, how many documents were read (already capped at max_samples,
 * as `collectDocs` stops there) and its num_samples.
 */
import { mixDatasets, type MixStrategy } from '../data/mix';
import { Rng } from '../data/rng';
import { sampleDocs, takeFirst, trainTestSplit } from '../data/split';

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

function merged(counts: readonly SourceCount[], base: number, o: PlanOptions): number[] {
  const lists: number[][] = [];
  let offset = base;
  for (const c of counts) {
    let docs = Array.from({ length: c.count }, (_, i) => offset + i);
    offset += c.count;
    if (c.numSamples !== undefined) docs = sampleDocs(docs, c.numSamples, new Rng(o.seed), c.name);
    lists.push(takeFirst(docs, o.maxSamples ?? undefined));
  }
  return mixDatasets(lists, {
    strategy: o.mixStrategy,
    probs: o.interleaveProbs ?? undefined,
    seed: o.seed,
    names: counts.map((c) => c.name),
  });
}

export function planSplits(train: readonly SourceCount[], evalSets: readonly SourceCount[], o: PlanOptions): SplitPlan {
  const trainSources = train.reduce((a, c) => a + c.count, 0);
  const evalSources = evalSets.reduce((a, c) => a + c.count, 0);
  let trainOrder: number[] = o.doTrain ? merged(train, 0, o) : [];
  let evalOrder: number[] = [];
  if (evalSets.length > 0) evalOrder = merged(evalSets, trainSources, o);
  else if (o.valSize > 0 && o.doTrain) {
    const s = trainTestSplit(trainOrder, o.valSize, o.seed);
    trainOrder = s.train;
    evalOrder = s.test;
  }
  return { train: Uint32Array.from(trainOrder), validation: Uint32Array.from(evalOrder), sources: trainSources + evalSources };
}
