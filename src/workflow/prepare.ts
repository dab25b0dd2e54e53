/**
 * `ptflow prepare cfg.yaml [key=value …] [--rank R --world-size W] [--merge]`: tokenizes the configured
 * datasets once into a reusable cache at `tokenized_path` (Arrow files of tokenized documents, not
 * packed, plus index.json), so `ptflow train` with the same settings skips reading and tokenizing.
 *
 * On a cluster each rank (flags, Slurm array job, Kubernetes indexed Job: see src/cache/partition.ts)
 * writes its contiguous slice of each split; the last rank to finish (or `--merge`) writes index.json.
 *
 *   runPrepare(configPath, overrides, flags, opts) → PrepareResult
 *   cacheForTrain(c, trainSets, evalSets, tokenizer, out) → TokenCacheIndex   (what `ptflow train` uses)
 *
 * `ptflow train` with `tokenized_path` and no cache there tokenizes into the cache first, then trains
 * from it (LLaMA-Factory saves the tokenized dataset too, but then exits).
 *
 * `pipeline:` steps on the documents edge run here, on each rank's slice, before tokenizing
 * (src/cache/build-filtered.ts); the cache's fingerprint records them, so a changed step or option
 * makes the cache stale.
 *
 * With `tap_port` set, the telemetry tap (src/telemetry/tap/) starts first and serves prepare's
 * progress lines as `log` events between a `run.start` and a `run.stop`.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTrainConfig, type TrainConfig } from '../config';
import { PtflowError, usageError } from '../errors';
import { resolveDatasets, type DatasetSpec } from '../data/registry';
import { refuseOutputOverInputs, trainInputs } from './input-guard';
import { BadRecordLog } from '../data/bad-record-log';
import { describeBadRecord } from '../data/readers/record-error';
import type { Tokenizer } from '../data/tokenizer';
import { tokenizerFor } from '../data/tokenize-batch';
import { buildPart } from '../cache/build';
import { buildFilteredPart } from '../cache/build-filtered';
import { checkPartFile } from '../cache/arrow-part';
import { ensureCacheOffsets } from '../cache/part-offsets';
import { describePreprocessing, diffPreprocessing, fingerprintOf, tokenizerFingerprint } from '../cache/fingerprint';
import { mergeParts, missingRanks, readIndex, readManifests } from '../cache/index-file';
import { INDEX_FILE, manifestFile } from '../cache/layout';
import { resolvePartition, type PartitionFlags } from '../cache/partition';
import { pipelineFingerprint, resolvePipeline, splitAtCache, type ResolvedStep } from '../actors/resolve';
import type { PartManifest, Preprocessing, TokenCacheIndex } from '../../schemas/token-cache';
import { TelemetryBus } from '../telemetry/bus';
import { startTapFromConfig } from '../telemetry/tap/from-config';
import { RunDescription } from '../telemetry/tap/hello';
import { linesToBus } from '../telemetry/tap/log-lines';

export interface PrepareFlags extends PartitionFlags {
  /** Only join the ranks' parts into index.json. */
  merge?: boolean;
}

export interface PrepareOptions {
  out?: NodeJS.WritableStream;
  env?: Readonly<Record<string, string | undefined>>;
  progressIntervalMs?: number;
}

export type PrepareStatus = 'complete' | 'up-to-date' | 'part-done' | 'merged';

export interface PrepareResult {
  status: PrepareStatus;
  dir: string;
  /** The index when the cache is complete. */
  index: TokenCacheIndex | null;
  manifest: PartManifest | null;
}

/** The datasets a config trains / evaluates on, as `ptflow train` resolves them. */
export function configuredDatasets(c: TrainConfig): { trainSets: DatasetSpec[]; evalSets: DatasetSpec[] } {
  return {
    trainSets: c.do_train ? resolveDatasets(c.dataset_dir, c.dataset ?? []) : [],
    evalSets: c.eval_dataset && c.eval_dataset.length > 0 ? resolveDatasets(c.dataset_dir, c.eval_dataset) : [],
  };
}

/** `steps`: the pipeline steps run on the documents (splitAtCache's `prepare`). */
export function expectedPreprocessing(
  c: TrainConfig, trainSets: readonly DatasetSpec[], evalSets: readonly DatasetSpec[], tokenizerFingerprint: string, steps: readonly ResolvedStep[] = [],
) {
  const preprocessing = describePreprocessing({
    datasetDir: c.dataset_dir, train: trainSets, eval: evalSets, maxSamples: c.max_samples ?? null, mixStrategy: c.mix_strategy,
    interleaveProbs: c.interleave_probs ?? null, valSize: c.val_size, seed: c.seed, onBadRecord: c.on_bad_record,
    tokenizerFingerprint, pipeline: pipelineFingerprint(steps),
  });
  return { preprocessing, fingerprint: fingerprintOf(preprocessing) };
}

/** `tokenizer_workers`; null = cores − 1 (at least 1), as TokenizerActor. */
function workersOf(c: TrainConfig): number {
  return c.tokenizer_workers ?? Math.max(1, os.availableParallelism() - 1);
}

function tokenizedPath(c: TrainConfig, configPath: string): string {
  if (!c.tokenized_path) {
    throw usageError(`tokenized_path is not set (${configPath}): it names the directory ptflow prepare writes the tokenized cache to`);
  }
  return c.tokenized_path;
}

function staleError(dir: string, built: Preprocessing, now: Preprocessing, configPath: string): PtflowError {
  const changes = diffPreprocessing(built, now);
  return usageError(
    `tokenized cache ${dir} is stale: ${changes.join('; ')}. Rebuild it with \`ptflow prepare ${configPath}\` ` +
      '(or set overwrite_cache: true), or point tokenized_path to another directory.',
  );
}

/** Every file the index lists is there, whole. */
function checkIndexFiles(dir: string, index: TokenCacheIndex): void {
  for (const s of Object.values(index.splits)) for (const p of s.parts) checkPartFile(path.join(dir, p.file), p);
}

function manifestFilesOk(dir: string, m: PartManifest): boolean {
  try {
    for (const p of Object.values(m.splits)) checkPartFile(path.join(dir, p.file), p);
    return true;
  } catch {
    return false;
  }
}

interface BuildContext {
  c: TrainConfig;
  dir: string;
  trainSets: DatasetSpec[];
  evalSets: DatasetSpec[];
  preprocessing: Preprocessing;
  fingerprint: string;
  /** Pipeline steps run on the documents before tokenizing. */
  steps: readonly ResolvedStep[];
  out: NodeJS.WritableStream;
  progressIntervalMs?: number;
}

async function build(ctx: BuildContext, flags: PartitionFlags, env: Readonly<Record<string, string | undefined>>): Promise<PrepareResult> {
  const { c, dir, out, fingerprint } = ctx;
  const partition = resolvePartition(flags, env);
  const { rank, worldSize } = partition;
  const current = readIndex(dir);
  if (current && current.fingerprint === fingerprint && !c.overwrite_cache) {
    try {
      checkIndexFiles(dir, current);
      await ensureCacheOffsets(dir, current);
      out.write(`Tokenized cache ${dir} is up to date (${summary(current)}); nothing to do. Set overwrite_cache: true to rebuild it.\n`);
      return { status: 'up-to-date', dir, index: current, manifest: null };
    } catch (e) {
      if (!(e instanceof PtflowError)) throw e;
      out.write(`${e.message.replace(/;[^;]*$/, '')}: rebuilding the damaged part.\n`);
    }
  }
  // index.json no longer describes what the directory will hold.
  if (current) fs.rmSync(path.join(dir, INDEX_FILE), { force: true });

  const mineFile = path.join(dir, manifestFile(rank, worldSize));
  let manifest: PartManifest | null = null;
  if (!c.overwrite_cache && fs.existsSync(mineFile)) {
    const m = readManifests(dir).find((x) => x.rank === rank && x.world_size === worldSize) ?? null;
    if (m && m.fingerprint === fingerprint && manifestFilesOk(dir, m)) {
      out.write(`prepare [rank ${rank}/${worldSize}]: this part is already prepared (${manifestFile(rank, worldSize)}).\n`);
      manifest = m;
    }
  }
  if (!manifest) {
    if (worldSize > 1) out.write(`prepare: rank ${rank} of ${worldSize} (from ${partition.source})\n`);
    const skipped = c.on_bad_record === 'skip' ? new BadRecordLog() : null; // counts a record once over both passes
    const makePart = ctx.steps.length > 0 ? (i: Parameters<typeof buildPart>[0]) => buildFilteredPart(i, ctx.steps) : buildPart;
    manifest = await makePart({
      dir, tokenizerDir: c.model_name_or_path, workers: workersOf(c),
      train: ctx.trainSets, eval: ctx.evalSets, preprocessing: ctx.preprocessing, fingerprint, partition, out,
      maxSamples: c.max_samples ?? null, mixStrategy: c.mix_strategy, interleaveProbs: c.interleave_probs ?? null,
      valSize: c.val_size, seed: c.seed, doTrain: c.do_train && ctx.trainSets.length > 0,
      progressIntervalMs: ctx.progressIntervalMs, onBadRecord: skipped ? (p) => void skipped.add(p) : undefined,
    });
    if (skipped?.first) {
      out.write(`warning: skipped ${skipped.count} bad record${skipped.count === 1 ? '' : 's'} (on_bad_record: skip); first: ${describeBadRecord(skipped.first)}\n`);
    }
  }
  const { absent, stale } = missingRanks(readManifests(dir), fingerprint, worldSize);
  const waiting = [...absent, ...stale];
  if (waiting.length > 0) {
    out.write(
      `prepare [rank ${rank}/${worldSize}]: part written; waiting for rank${waiting.length > 1 ? 's' : ''} ${waiting.join(', ')}. ` +
        `The last rank to finish writes ${INDEX_FILE} (or run \`ptflow prepare <config> --merge\`).\n`,
    );
    return { status: 'part-done', dir, index: null, manifest };
  }
  const index = await mergeParts(dir, fingerprint, worldSize);
  await ensureCacheOffsets(dir, index);
  out.write(`Tokenized cache ${dir} complete: ${summary(index)}.\n`);
  return { status: 'complete', dir, index, manifest };
}

function summary(index: TokenCacheIndex): string {
  return Object.entries(index.splits)
    .map(([s, v]) => `${s} ${v.documents} documents / ${v.tokens} tokens in ${v.parts.length} part${v.parts.length > 1 ? 's' : ''}`)
    .join(', ');
}

export async function runPrepare(configPath: string, overrides: string[], flags: PrepareFlags = {}, opts: PrepareOptions = {}): Promise<PrepareResult> {
  const out = opts.out ?? process.stderr;
  const { config: c, warnings, where } = loadTrainConfig(configPath, overrides);
  for (const w of warnings) out.write(`warning: ${w}\n`);
  const steps = splitAtCache(resolvePipeline(c.pipeline, configPath, where), tokenizedPath(c, configPath)).prepare;
  if (c.tap_port === null) return prepareWith(c, configPath, steps, flags, { ...opts, out });
  // With a tap: started before any work; clients get prepare's progress lines and how it ended.
  const bus = new TelemetryBus(randomUUID(), c.tap_history);
  const tap = await startTapFromConfig(c, bus, new RunDescription('prepare', c as unknown as Record<string, unknown>), out, opts.env ?? process.env);
  const started = Date.now();
  bus.emit('run.start', { config: c as unknown as Record<string, unknown>, output_dir: c.tokenized_path ?? c.output_dir });
  try {
    const r = await prepareWith(c, configPath, steps, flags, { ...opts, out: linesToBus(out, bus, 'prepare') });
    bus.emit('run.stop', { status: 'completed', elapsed_s: (Date.now() - started) / 1000 });
    return r;
  } catch (e) {
    bus.emit('run.stop', { status: 'failed', reason: (e as Error).message, elapsed_s: (Date.now() - started) / 1000 });
    throw e;
  } finally {
    await tap?.close();
  }
}

async function prepareWith(c: TrainConfig, configPath: string, steps: readonly ResolvedStep[], flags: PrepareFlags, opts: PrepareOptions & { out: NodeJS.WritableStream }): Promise<PrepareResult> {
  const out = opts.out;
  const dir = tokenizedPath(c, configPath);
  const { trainSets, evalSets } = configuredDatasets(c);
  refuseOutputOverInputs(dir, trainInputs({ ...c, tokenized_path: null, logging_dir: null }, [...trainSets, ...evalSets]), 'tokenized_path');
  if (trainSets.length === 0 && evalSets.length === 0) throw usageError(`${configPath}: no datasets to prepare (set dataset with do_train, or eval_dataset)`);
  // One tokenizer in this thread when it tokenizes inline (the same instance); a pool loads its own.
  const tokFingerprint = workersOf(c) <= 1 ? tokenizerFor(c.model_name_or_path).fingerprint : tokenizerFingerprint(c.model_name_or_path);
  const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, tokFingerprint, steps);
  if (flags.merge) {
    if (flags.rank !== undefined) throw usageError('--merge joins all ranks\' parts: it takes no --rank');
    const world = flags.worldSize === undefined ? undefined : resolvePartition({ rank: 0, worldSize: flags.worldSize }, {}).worldSize;
    const index = await mergeParts(dir, fingerprint, world);
    await ensureCacheOffsets(dir, index);
    out.write(`Tokenized cache ${dir} complete: ${summary(index)}.\n`);
    return { status: 'merged', dir, index, manifest: null };
  }
  if (c.streaming) {
    out.write('note: the cache holds the map-style document order and split (as streaming: false); a streamed run over it reads its blocks in that order through the shuffle buffer.\n');
  }
  const ctx: BuildContext = { c, dir, trainSets, evalSets, preprocessing, fingerprint, steps, out, progressIntervalMs: opts.progressIntervalMs };
  return build(ctx, flags, opts.env ?? process.env);
}

export async function runPrepareCommand(configPath: string, overrides: string[], flags: PrepareFlags): Promise<number> {
  await runPrepare(configPath, overrides, flags);
  return 0;
}

/**
 * The cache `ptflow train` reads: the complete, current cache at `tokenized_path` (merging finished
 * ranks' parts when index.json is not written yet), built first when there is none or when
 * overwrite_cache is set. A cache built from other settings is refused, saying what changed (a
 * pipeline step by its name). `steps`: the pipeline steps on the documents (applied in the cache).
 */
export async function cacheForTrain(
  c: TrainConfig,
  trainSets: DatasetSpec[],
  evalSets: DatasetSpec[],
  tokenizer: Tokenizer,
  out: NodeJS.WritableStream,
  configPath = 'config.yaml',
  steps: readonly ResolvedStep[] = [],
): Promise<TokenCacheIndex> {
  const dir = tokenizedPath(c, configPath);
  const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, tokenizer.fingerprint, steps);
  const ctx: BuildContext = { c, dir, trainSets, evalSets, preprocessing, fingerprint, steps, out };
  const rebuild = async (why: string): Promise<TokenCacheIndex> => {
    out.write(`${why}: tokenizing the datasets into ${dir} first.\n`);
    const r = await build(ctx, { rank: 0, worldSize: 1 }, {});
    return r.index!;
  };
  if (c.overwrite_cache) return rebuild('overwrite_cache is set');
  const index = readIndex(dir);
  if (index) {
    if (index.fingerprint !== fingerprint) throw staleError(dir, index.preprocessing, preprocessing, configPath);
    checkIndexFiles(dir, index);
    await ensureCacheOffsets(dir, index);
    return index;
  }
  const manifests = readManifests(dir);
  if (manifests.length > 0) {
    if (!manifests.some((m) => m.fingerprint === fingerprint)) throw staleError(dir, manifests[0].preprocessing, preprocessing, configPath);
    const merged = await mergeParts(dir, fingerprint);
    checkIndexFiles(dir, merged);
    await ensureCacheOffsets(dir, merged);
    return merged;
  }
  return rebuild(`tokenized_path ${dir} holds no tokenized cache yet`);
}
