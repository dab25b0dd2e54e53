/**
 * The order training rows are served in, epoch by epoch (the in-memory collator and the cache block
 * reader use the same one, so both paths train on the same micro-batches):
 *
 *   epochOrder(n, epoch, seed, keepOrder) → row index at each position of the epoch: a seeded
 *       Fisher–Yates permutation (`Rng(seed, epoch)`, HF's RandomSampler with a fresh order per epoch),
 *       or 0..n−1 with `disable_shuffling`. 4 bytes per row (Uint32Array).
 *   rankShare(n, rank, worldSize) → the positions of an epoch one of `worldSize` trainers reads:
 *       rank, rank + W, rank + 2W, … over the epoch padded to a multiple of W by wrapping around to
 *       its start (torch's DistributedSampler with drop_last = false): every rank gets ceil(n / W)
 *       rows, the ranks together cover every position.
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
  /** Positions this rank reads per epoch. */
  length: number;
  /** The epoch position of this rank's k-th row. */
  position(k: number): number;
}

export function rankShare(n: number, rank: number, worldSize: number): RankShare {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new PtflowError(`world_size must be a positive integer, got ${worldSize}`, 2);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new PtflowError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`, 2);
  if (n === 0) return { length: 0, position: () => 0 };
  const length = Math.ceil(n / worldSize);
  return { length, position: (k) => (rank + k * worldSize) % n };
}
