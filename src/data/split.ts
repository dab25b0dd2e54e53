/**
 * Per-dataset selection and the train / validation split, on in-memory arrays of documents,
 * following LLaMA-Factory (`_load_single_dataset`, `split_dataset`) and HF datasets
 * (`Dataset.train_test_split`):
 *
 *   sampleDocs(docs, numSamples, rng)  `num_samples`: a random permutation cut to N, topped up with
 *                                      draws with replacement when N > len (every doc appears once first)
 *   takeFirst(docs, maxSamples)        `max_samples`: the first N documents
 *   splitSizes(n, valSize)             HF sizes: test = ceil(frac × n) for a fraction, the count for > 1
 *   trainTestSplit(docs, valSize, seed) a seeded permutation; test = its first n_test entries, train = the rest
 *
 * The permutation comes from `Rng` (xoshiro128**), not numpy's PCG64: which documents land in
 * validation differs from LLaMA-Factory for the same seed; the sizes are the same.
 */
import { PtflowError } from '../errors';
import { Rng } from './rng';

export function takeFirst<T>(docs: readonly T[], maxSamples?: number): T[] {
  if (maxSamples === undefined) return docs.slice();
  if (!Number.isInteger(maxSamples) || maxSamples < 0) throw new PtflowError(`max_samples: expected a non-negative integer, got ${maxSamples}`, 2);
  return docs.slice(0, Math.min(maxSamples, docs.length));
}

export function sampleDocs<T>(docs: readonly T[], numSamples: number, rng: Rng, name = 'dataset'): T[] {
  if (!Number.isInteger(numSamples) || numSamples < 1) throw new PtflowError(`${name}: num_samples must be a positive integer, got ${numSamples}`, 2);
  if (docs.length === 0) throw new PtflowError(`${name}: num_samples=${numSamples} but the dataset has no documents`);
  const perm = rng.permutation(docs.length);
  const out: T[] = [];
  for (let i = 0; i < Math.min(numSamples, docs.length); i++) out.push(docs[perm[i]]);
  while (out.length < numSamples) out.push(docs[rng.nextBelow(docs.length)]);
  return out;
}

/** `val_size` → split sizes as HF's `train_test_split(test_size=…)` computes them. */
export function splitSizes(n: number, valSize: number): { train: number; test: number } {
  if (!(valSize > 1e-6)) return { train: n, test: 0 }; // LLaMA-Factory splits only when val_size > 1e-6
  if (n === 0) return { train: 0, test: 0 };
  let test: number;
  if (valSize > 1) {
    test = Math.trunc(valSize); // int(val_size)
    if (test >= n) throw new PtflowError(`val_size=${valSize} should be smaller than the number of samples ${n}`, 2);
  } else {
    if (valSize >= 1) throw new PtflowError(`val_size=${valSize}: a fraction must be in (0, 1); use a count > 1 for a number of samples`, 2);
    test = Math.ceil(valSize * n);
  }
  const train = n - test;
  if (train <= 0) {
    throw new PtflowError(`With n_samples=${n} and val_size=${valSize}, the resulting train set will be empty. Adjust val_size or add data.`, 2);
  }
  return { train, test };
}

export function trainTestSplit<T>(docs: readonly T[], valSize: number, seed: number): { train: T[]; test: T[] } {
  const { test: nTest } = splitSizes(docs.length, valSize);
  if (nTest === 0) return { train: docs.slice(), test: [] };
  const perm = new Rng(seed).permutation(docs.length);
  const test: T[] = [];
  const train: T[] = [];
  for (let i = 0; i < perm.length; i++) (i < nTest ? test : train).push(docs[perm[i]]);
  return { train, test };
}
