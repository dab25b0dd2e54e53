/**
 * The run's own token cache: a map-mode run (`streaming: false`) without `tokenized_path` tokenizes
 * its datasets once into `<output_dir>/.ptflow-cache/` with the `ptflow prepare` builder (build.ts)
 * and trains from it by offset (actors/CacheBlockActor.ts), so the collator holds no blocks in memory.
 *
 *   runCacheDir(outputDir)                       where it goes
 *   ensureRunCache(build, out, onBadRecord) → TokenCacheIndex
 *
 * Reuse: a complete cache whose fingerprint equals this run's (same datasets, files, split, seed,
 * tokenizer…: fingerprint.ts) is reused, e.g. when the run resumes. Anything else in the directory
 * (other settings, a build killed half way, a damaged part) is deleted and the cache built again: the
 * directory belongs to the run, so nothing there is refused. A killed build leaves no index.json (it is
 * written last, after every part file and the manifest), so a later run never trusts it.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { DatasetSpec } from '../data/registry';
import type { BadRecordHandler } from '../data/readers';
import type { MixStrategy } from '../data/mix';
import type { Preprocessing, TokenCacheIndex } from '../../schemas/token-cache';
import { PtflowError } from '../errors';
import { blockIfArmed, killIfArmed, spinIfArmed } from '../faults';
import { checkPartFile } from './arrow-part';
import { buildPart } from './build';
import { mergeParts, readIndex } from './index-file';
import { ensureCacheOffsets } from './part-offsets';

/** The directory under output_dir (hidden: not listed as an output, removed when the run completes). */
export const RUN_CACHE_DIR = '.ptflow-cache';

/** Each rank of a data-parallel job builds its own copy: ranks on one machine share output_dir. */
export function runCacheDir(outputDir: string, world: { rank: number; size: number } = { rank: 0, size: 1 }): string {
  return world.size > 1 ? path.join(outputDir, RUN_CACHE_DIR, `rank-${world.rank}`) : path.join(outputDir, RUN_CACHE_DIR);
}

/** What building the run's cache needs (plain data: it travels to the data actor's thread). */
export interface RunCacheBuild {
  dir: string;
  tokenizer_dir: string;
  workers: number;
  train: DatasetSpec[];
  eval: DatasetSpec[];
  preprocessing: Preprocessing;
  fingerprint: string;
  max_samples: number | null;
  mix_strategy: MixStrategy;
  interleave_probs: number[] | null;
  val_size: number;
  seed: number;
  do_train: boolean;
  /** on_bad_record: 'skip' reports each bad record to ensureRunCache's handler and goes on. */
  on_bad_record: 'error' | 'skip';
}

/** The complete, current cache in `b.dir`, or null when there is none to trust. */
async function reusable(b: RunCacheBuild): Promise<TokenCacheIndex | null> {
  try {
    const index = readIndex(b.dir);
    if (!index || index.fingerprint !== b.fingerprint) return null;
    for (const s of Object.values(index.splits)) for (const p of s.parts) checkPartFile(path.join(b.dir, p.file), p);
    await ensureCacheOffsets(b.dir, index);
    return index;
  } catch (e) {
    if (e instanceof PtflowError) return null; // malformed index, missing or truncated part: build again
    throw e;
  }
}

export async function ensureRunCache(b: RunCacheBuild, out: NodeJS.WritableStream, onBadRecord?: BadRecordHandler): Promise<TokenCacheIndex> {
  const found = await reusable(b);
  if (found) {
    out.write(`token cache: reusing ${b.dir} (built earlier from the same datasets and settings)\n`);
    return found;
  }
  const had = fs.existsSync(b.dir);
  fs.rmSync(b.dir, { recursive: true, force: true });
  out.write(`token cache: tokenizing the datasets into ${b.dir}${had ? ' (what was there was built from other settings or not finished: removed)' : ''}; training reads its blocks from there\n`);
  for (let n = 1; n <= 4; n++) spinIfArmed('spin-cache-build', n);
  blockIfArmed('block-cache-build', 1);
  await buildPart({
    dir: b.dir, tokenizerDir: b.tokenizer_dir, workers: b.workers, train: b.train, eval: b.eval,
    preprocessing: b.preprocessing, fingerprint: b.fingerprint, partition: { rank: 0, worldSize: 1, source: 'one process' }, out,
    maxSamples: b.max_samples, mixStrategy: b.mix_strategy, interleaveProbs: b.interleave_probs, valSize: b.val_size,
    seed: b.seed, doTrain: b.do_train, onBadRecord, label: 'token cache',
  });
  killIfArmed('kill-in-cache-build', 1);
  const index = await mergeParts(b.dir, b.fingerprint, 1);
  await ensureCacheOffsets(b.dir, index);
  return index;
}

/** A training run whose datasets gave no document stops here, with the in-memory path's message. */
export function checkTrainDocuments(b: RunCacheBuild, index: TokenCacheIndex): void {
  if (!b.do_train || (index.splits.train?.documents ?? 0) > 0) return;
  throw new PtflowError(`dataset ${b.train.map((s) => s.name).join(',')}: no documents to train on (${b.train.flatMap((s) => s.files).join(', ')})`, 2);
}
