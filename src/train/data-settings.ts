/**
 * What the order of the training data and the meaning of a checkpoint's data cursor depend on. A
 * checkpoint records it (`ptflow_state.json` → `data_settings`); a resume compares it with the
 * current configuration (src/train/resume-check.ts) and refuses a change that would make the cursor
 * point somewhere else than where the run stopped.
 *
 * The `pipeline:` steps are part of it (src/train/pipeline-settings.ts): they change what the trainer
 * gets (their `workers` is recorded but may change).
 *
 * Not part of it (safe to change on resume): logging / eval / save schedules, learning rate and
 * optimizer settings, max_steps / num_train_epochs, eval batch size, backend and threads.
 *
 * Data-parallel runs: the data cursor counts global micro-batches of per_device_train_batch_size ×
 * world_size rows (src/data/epoch-order.ts rankShare), so what must stay is that product, not its
 * factors: a checkpoint of 2 processes × batch 4 resumes on 1 process × batch 8 (or 4 × 2) exactly.
 */
import { z } from 'zod';
import type { TrainConfig } from '../config';
import type { DatasetSpec } from '../data/registry';
import { describePreprocessing, diffPreprocessing } from '../cache/fingerprint';
import { preprocessingSchema } from '../../schemas/token-cache';
import { rebaseAnchorSchema } from './cursor-rebase';
import { diffPipelineSettings, pipelineStepSettingSchema, type PipelineStepSetting } from './pipeline-settings';

export const dataSettingsSchema = z.object({
  version: z.literal(1),
  /** Datasets (files with size and mtime), tokenizer, max_samples, mixing, val_size, seed, on_bad_record. */
  preprocessing: preprocessingSchema,
  cutoff_len: z.number().int(),
  packing: z.boolean(),
  neat_packing: z.boolean(),
  per_device_train_batch_size: z.number().int(),
  gradient_accumulation_steps: z.number().int(),
  streaming: z.boolean(),
  /** Shuffle buffer (streaming only; null otherwise). */
  buffer_size: z.number().int().nullable(),
  data_seed: z.number().int().nullable(),
  disable_shuffling: z.boolean(),
  /** Data-parallel processes of the run that wrote it (1: one process). */
  world_size: z.number().int(),
  /** Micro-batches per epoch the run saw (null when streaming); filled in by the trainer. */
  micro_per_epoch: z.number().int().nullable(),
  /**
   * Where this run's data cursor last started anew: re-based to a new batch unit (rebase_data_cursor) or
   * restarted from the beginning (ignore_data_skip); absent when never. Later cursors are checked from it.
   */
  rebase: rebaseAnchorSchema.optional(),
  /** The `pipeline:` steps, in YAML order ([] for none); absent in checkpoints of an older ptflow (unknown). */
  pipeline: z.array(pipelineStepSettingSchema).optional(),
});
export type DataSettings = z.infer<typeof dataSettingsSchema>;

export function dataSettingsOf(
  c: TrainConfig, trainSets: readonly DatasetSpec[], evalSets: readonly DatasetSpec[], tokenizerFingerprint: string, worldSize = 1,
  pipeline: PipelineStepSetting[] = [],
): DataSettings {
  return {
    version: 1,
    preprocessing: describePreprocessing({
      datasetDir: c.dataset_dir, train: trainSets, eval: evalSets, maxSamples: c.max_samples ?? null, mixStrategy: c.mix_strategy,
      interleaveProbs: c.interleave_probs ?? null, valSize: c.val_size, seed: c.seed, onBadRecord: c.on_bad_record, tokenizerFingerprint,
    }),
    cutoff_len: c.cutoff_len,
    packing: c.packing,
    neat_packing: c.neat_packing,
    per_device_train_batch_size: c.per_device_train_batch_size,
    gradient_accumulation_steps: c.gradient_accumulation_steps,
    streaming: c.streaming,
    buffer_size: c.streaming ? c.buffer_size : null,
    data_seed: c.data_seed ?? null,
    disable_shuffling: c.disable_shuffling,
    world_size: worldSize,
    micro_per_epoch: null,
    pipeline,
  };
}

const SCALARS = [
  'cutoff_len', 'packing', 'neat_packing', 'gradient_accumulation_steps', 'streaming', 'buffer_size',
  'data_seed', 'disable_shuffling',
] as const;

/** Rows of one global micro-batch: what the data cursor counts in. */
export function globalMicroBatch(s: Pick<DataSettings, 'per_device_train_batch_size' | 'world_size'>): number {
  return s.per_device_train_batch_size * s.world_size;
}

/** Each difference as "key old → new" (datasets and their files as the cache names them). */
export function diffDataSettings(saved: DataSettings, now: DataSettings): string[] {
  const show = (v: unknown): string => (v === null ? 'null' : String(v));
  const out: string[] = [];
  for (const k of SCALARS) if (saved[k] !== now[k]) out.push(`${k} ${show(saved[k])} → ${show(now[k])}`);
  if (globalMicroBatch(saved) !== globalMicroBatch(now)) {
    const b = (x: DataSettings): string => `${x.per_device_train_batch_size} × ${x.world_size} = ${globalMicroBatch(x)}`;
    if (saved.world_size === now.world_size) out.push(`per_device_train_batch_size ${saved.per_device_train_batch_size} → ${now.per_device_train_batch_size}`);
    else out.push(`per_device_train_batch_size × world_size ${b(saved)} → ${b(now)} (the world size may change when the product stays)`);
  }
  // The cache's format version says nothing about the data order.
  out.push(...diffPreprocessing({ ...saved.preprocessing, format_version: now.preprocessing.format_version }, now.preprocessing));
  // A checkpoint of an older ptflow does not say (resume-check.ts notes that once).
  if (saved.pipeline !== undefined && now.pipeline !== undefined) out.push(...diffPipelineSettings(saved.pipeline, now.pipeline));
  return out;
}
