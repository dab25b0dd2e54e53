/**
 * The order training rows are served in, epoch by epoch (the in-memory collator and the cache block
 * reader use the same one, so both paths train on the same micro-batches):
 *
 *   epochOrder(n, epoch, seed, keepOrder) → row index at each position of the epoch: a seeded
 *       Fisher–Yates permutation (`Rng(seed, epoch)`, HF's RandomSampler with a fresh order per epoch),
 *       or 0..n−1 with `disable_shuffling`. 4 bytes per row (Uint32Array).
 *   rankShare(n, batchSize, rank, worldSize, shift) → which positions of an epoch one of `worldSize`
 *       trainers reads. The epoch is cut into global micro-batches of batchSize × worldSize positions
 *       (exactly the micro-batches one process with that batch size would take); rank r reads the
 *       r-th slice of batchSize positions of each. The last global micro-batch of an epoch may be
 *       short: its slices are cut in rank order, so a rank may get fewer rows or none (nothing is
 *       padded or repeated, unlike torch's DistributedSampler: N ranks see exactly the rows one
 *       process sees). The micro-batch index is the same on every rank and for every world size with
 *       the same batchSize × worldSize, which is what makes a data cursor world-size independent.
 *       `shift` > 0 (a re-based resume's first epoch, src/train/cursor-rebase.ts) moves the grid back
 *       by that many positions: global micro-batch k covers [k·G − shift, (k+1)·G − shift), clipped.
 *   rankSlice(rows, batchSize, rank) → one rank's slice of a global micro-batch already cut (the
 *       streamed paths, which batch as rows arrive): rows [rank·batchSize, (rank+1)·batchSize),
 *       clipped, so a short last micro-batch is cut in rank order as rankShare cuts it.
 */
import { PtflowError } from '../errors';
import { Rng } from './rng';

export function epochOrder(n: number, epoch: number, seed: number, keepOrder: boolean): Uint32Array {
  if (keepOrder) {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return p;
  }
  return new Rng(seed, epoch).permutation(n);
}

export interface RankShare {
  /** Global micro-batches per epoch: ceil((n + shift) / (batchSize × worldSize)). */
  microPerEpoch: number;
  /** The epoch positions [start, end) this rank reads in global micro-batch `micro` (start = end: none). */
  slice(micro: number): { start: number; end: number };
}

export function rankShare(n: number, batchSize: number, rank: number, worldSize: number, shift = 0): RankShare {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new PtflowError(`world_size must be a positive integer, got ${worldSize}`, 2);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new PtflowError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`, 2);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new PtflowError(`batch size must be a positive integer, got ${batchSize}`, 2);
  const global = batchSize * worldSize;
  return {
    microPerEpoch: Math.ceil((n + shift) / global),
    slice: (micro) => {
      const from = micro * global - shift + rank * batchSize;
      return { start: Math.min(n, Math.max(0, from)), end: Math.min(n, Math.max(0, from + batchSize)) };
    },
  };
}

export function rankSlice<T>(rows: readonly T[], batchSize: number, rank: number): T[] {
  return rows.slice(Math.min(rows.length, rank * batchSize), Math.min(rows.length, (rank + 1) * batchSize));
}
