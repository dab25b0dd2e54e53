/**
 * File names inside a tokenized-corpus cache directory (see schemas/token-cache.ts for the layout).
 * Ranks and world sizes are zero-padded to five digits, so names sort in rank order.
 */
import path from 'node:path';
import type { CacheSplit } from '../../schemas/token-cache';

export const INDEX_FILE = 'index.json';
export const PARTS_DIR = 'parts';

const pad = (n: number): string => String(n).padStart(5, '0');

/** `part-00001-of-00003` */
export function partStem(rank: number, worldSize: number): string {
  return `part-${pad(rank)}-of-${pad(worldSize)}`;
}

/** Arrow file of one split of one rank, relative to the cache directory. */
export function partFile(split: CacheSplit, rank: number, worldSize: number): string {
  return `${split}/${partStem(rank, worldSize)}.arrow`;
}

/** A rank's manifest, relative to the cache directory. */
export function manifestFile(rank: number, worldSize: number): string {
  return `${PARTS_DIR}/${partStem(rank, worldSize)}.json`;
}

/** `part-RRRRR-of-WWWWW.json|arrow` → rank and world size; null for other names. */
export function parsePartName(name: string): { rank: number; worldSize: number } | null {
  const m = /^part-(\d{5})-of-(\d{5})\.(json|arrow)$/.exec(path.basename(name));
  return m ? { rank: Number(m[1]), worldSize: Number(m[2]) } : null;
}

/** The meta `split` tag the pipeline uses for a cache split. */
export function pipelineSplit(split: CacheSplit): 'train' | 'eval' {
  return split === 'train' ? 'train' : 'eval';
}
