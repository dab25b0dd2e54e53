/**
 * Merging several datasets (`mix_strategy`), as LLaMA-Factory's `merge_dataset` over HF datasets'
 * `concatenate_datasets` / `interleave_datasets` (map-style):
 *
 *   concat            one after the other
 *   interleave_under  stopping_strategy "first_exhausted": stop once any source has been used up
 *   interleave_over   "all_exhausted": exhausted sources restart from their beginning until every
 *                     source has been used up at least once
 *   interleave_once   "all_exhausted_without_replacement": every document exactly once
 *
 * Without `interleave_probs` the sources take turns (round robin). With them, the source of each
 * example is drawn from `Rng(seed)` with those probabilities; the stopping test runs before each
 * draw, so the example that exhausts a source is kept (HF's loop). The draws come from xoshiro128**,
 * not numpy's PCG64, so the order differs from HF's for the same seed; the semantics are the same.
 */
import { PtflowError } from '../errors';
import { Rng, cumulativeProbs } from './rng';

export const MIX_STRATEGIES = ['concat', 'interleave_under', 'interleave_over', 'interleave_once'] as const;
export type MixStrategy = (typeof MIX_STRATEGIES)[number];
export type StoppingStrategy = 'first_exhausted' | 'all_exhausted' | 'all_exhausted_without_replacement';

const STOPPING: Record<Exclude<MixStrategy, 'concat'>, StoppingStrategy> = {
  interleave_under: 'first_exhausted',
  interleave_over: 'all_exhausted',
  interleave_once: 'all_exhausted_without_replacement',
};

/** A position in the mixed list: which source, and which document of it. */
export interface MixIndex {
  source: number;
  index: number;
}

/** HF's `_interleave_map_style_datasets` index computation, as (source, index) pairs. */
export function interleaveIndices(
  lengths: readonly number[],
  probs: readonly number[] | undefined,
  seed: number,
  stopping: StoppingStrategy,
): MixIndex[] {
  const k = lengths.length;
  const out: MixIndex[] = [];
  if (probs === undefined) {
    if (stopping === 'first_exhausted') {
      const m = Math.min(...lengths);
      for (let i = 0; i < m; i++) for (let s = 0; s < k; s++) out.push({ source: s, index: i });
    } else if (stopping === 'all_exhausted') {
      const m = Math.max(...lengths);
      for (let i = 0; i < m; i++) for (let s = 0; s < k; s++) out.push({ source: s, index: i % lengths[s] });
    } else {
      const m = Math.max(...lengths);
      for (let i = 0; i < m; i++) for (let s = 0; s < k; s++) if (i < lengths[s]) out.push({ source: s, index: i });
    }
    return out;
  }
  if (probs.length !== k) {
    throw new PtflowError(`interleave_probs has ${probs.length} values for ${k} datasets`, 2);
  }
  const cdf = cumulativeProbs(probs, 'interleave_probs');
  if (stopping !== 'first_exhausted') {
    const starved = probs.findIndex((p) => p === 0);
    if (starved >= 0) {
      throw new PtflowError(`interleave_probs gives dataset #${starved + 1} probability 0, so it can never be exhausted (stopping "${stopping}")`, 2);
    }
  }
  const rng = new Rng(seed);
  const exhausted = new Array<boolean>(k).fill(false);
  const current = new Array<number>(k).fill(0);
  let exhaustedCount = 0;
  for (;;) {
    if (stopping === 'first_exhausted' ? exhaustedCount > 0 : exhaustedCount === k) break;
    const s = rng.choice(cdf);
    if (stopping !== 'all_exhausted_without_replacement' || !exhausted[s]) {
      out.push({ source: s, index: current[s] });
      current[s]++;
    }
    if (current[s] >= lengths[s]) {
      if (!exhausted[s]) exhaustedCount++;
      exhausted[s] = true;
      if (stopping !== 'all_exhausted_without_replacement') current[s] = 0;
    }
  }
  return out;
}

export interface MixOptions {
  strategy: MixStrategy;
  /** `interleave_probs`, one per dataset, summing to 1. */
  probs?: readonly number[];
  seed: number;
  /** Dataset names for error messages. */
  names?: readonly string[];
}

/** Merge datasets into one list. A single dataset is returned unchanged (as LLaMA-Factory does). */
export function mixDatasets<T>(datasets: readonly (readonly T[])[], opts: MixOptions): T[] {
  if (datasets.length === 0) return [];
  if (datasets.length === 1) return datasets[0].slice();
  if (opts.strategy === 'concat') return datasets.flat() as T[];
  const stopping = STOPPING[opts.strategy];
  if (stopping === undefined) throw new PtflowError(`Unknown mix_strategy: ${String(opts.strategy)} (expected ${MIX_STRATEGIES.join(', ')})`, 2);
  const empty = datasets.findIndex((d) => d.length === 0);
  if (empty >= 0) {
    throw new PtflowError(`mix_strategy ${opts.strategy}: dataset "${opts.names?.[empty] ?? `#${empty + 1}`}" has no documents`);
  }
  return interleaveIndices(
    datasets.map((d) => d.length),
    opts.probs,
    opts.seed,
    stopping,
  ).map(({ source, index }) => datasets[source][index]);
}
