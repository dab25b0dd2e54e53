/**
 * The files of a tokenized-corpus cache (`tokenized_path`, written by `ptflow prepare`):
 *
 *   index.json                               the complete cache: every part of every split, in order
 *   parts/part-RRRRR-of-WWWWW.json           one rank's manifest (what that rank wrote)
 *   train/part-RRRRR-of-WWWWW.arrow          Arrow IPC files, column `input_ids` (List<Int32>)
 *   validation/part-RRRRR-of-WWWWW.arrow
 *
 * `preprocessing` records everything the documents depend on (datasets and their files, sampling,
 * mixing, split, seed, tokenizer, cache format, and the `pipeline:` steps run on the documents before
 * tokenizing); `fingerprint` is the sha256 of it. A cache is
 * reused only when the fingerprint of the current config is the same.
 */
import { z } from 'zod';

export const TOKEN_CACHE_FORMAT = 'ptflow.token-cache';
/** Bump when the layout or the meaning of the files changes: older caches are then stale. */
export const TOKEN_CACHE_VERSION = 1;

export const CACHE_SPLITS = ['train', 'validation'] as const;
export type CacheSplit = (typeof CACHE_SPLITS)[number];

const count = z.number().int().nonnegative();

export const datasetFileSchema = z.object({
  /** Path relative to dataset_dir (absolute when the file lies outside it). */
  path: z.string(),
  size: count,
  mtime_ms: z.number(),
});

export const datasetEntrySchema = z.object({
  name: z.string(),
  role: z.enum(['train', 'eval']),
  format: z.string(),
  text_column: z.string(),
  num_samples: count.nullable(),
  files: z.array(datasetFileSchema),
});

/** A `pipeline:` step `ptflow prepare` ran on the documents (src/actors/resolve.ts pipelineFingerprint). */
export const pipelineStepPrintSchema = z.object({
  name: z.string(),
  actor: z.string(),
  /** 'builtin', or `sha256:<hex>` of the module's source. */
  source: z.string(),
  /** The options after the actor's schema (defaults filled in), as JSON. */
  options: z.unknown(),
  /** "after DatasetShardActor", "before TokenizerActor", … */
  at: z.string(),
});
export type PipelineStepPrint = z.infer<typeof pipelineStepPrintSchema>;

export const preprocessingSchema = z.object({
  format_version: z.number().int(),
  tokenizer: z.string(),
  datasets: z.array(datasetEntrySchema),
  max_samples: count.nullable(),
  mix_strategy: z.string(),
  interleave_probs: z.array(z.number()).nullable(),
  val_size: z.number(),
  seed: z.number().int(),
  on_bad_record: z.string(),
  /** Absent when no step runs on the documents (so caches built before steps existed stay valid). */
  pipeline: z.array(pipelineStepPrintSchema).optional(),
});
export type Preprocessing = z.infer<typeof preprocessingSchema>;
export type DatasetEntry = z.infer<typeof datasetEntrySchema>;

/**
 * One Arrow file of one split. `first` is the split-ordinal of its first document in the planned
 * order; with pipeline steps that drop documents, `planned` is how many planned documents the part
 * covers and `documents` how many of them were kept.
 */
export const partFileSchema = z.object({
  file: z.string(),
  rank: count,
  first: count,
  documents: count,
  planned: count.optional(),
  tokens: count,
  bytes: count,
  /** sha256 of each Arrow record batch's content, verified as it is read (src/cache/part-checksum.ts). */
  content_sha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});
export type PartFile = z.infer<typeof partFileSchema>;

export const partManifestSchema = z.object({
  format: z.literal(TOKEN_CACHE_FORMAT),
  format_version: z.number().int(),
  fingerprint: z.string(),
  preprocessing: preprocessingSchema,
  rank: count,
  world_size: z.number().int().positive(),
  /** Documents of each split over all ranks (every rank plans the whole order), before any pipeline step. */
  split_documents: z.record(z.string(), count),
  splits: z.record(z.string(), partFileSchema),
});
export type PartManifest = z.infer<typeof partManifestSchema>;

export const splitIndexSchema = z.object({
  documents: count,
  tokens: count,
  parts: z.array(partFileSchema),
});
export type SplitIndex = z.infer<typeof splitIndexSchema>;

export const tokenCacheIndexSchema = z.object({
  format: z.literal(TOKEN_CACHE_FORMAT),
  format_version: z.number().int(),
  fingerprint: z.string(),
  tokenizer_fingerprint: z.string(),
  preprocessing: preprocessingSchema,
  world_size: z.number().int().positive(),
  splits: z.record(z.string(), splitIndexSchema),
});
export type TokenCacheIndex = z.infer<typeof tokenCacheIndexSchema>;
