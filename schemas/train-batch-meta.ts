/**
 * The JSON meta that travels with every TrainBatch message (CollatorActor → TrainerActor): where the
 * micro-batch sits in the run, and the data cursor to resume from right after it.
 *
 * Three kinds of cursor: a map-style run (the whole dataset packed in memory) resumes by (epoch, index
 * of the next micro-batch); a streamed run resumes from a `StreamCursor` (schemas/stream-cursor.ts), a streamed run over a
 * tokenized cache from a `CacheStreamCursor` (schemas/cache-cursor.ts). A micro-batch that a batches-edge
 * step split off from a larger one carries a `SplitCursor` (schemas/split-cursor.ts), which starts
 * from one of those.
 * Map cursors written before `kind` existed have no `kind` and are read as map cursors.
 */
import type { CacheStreamCursor } from './cache-cursor';
import type { StreamCursor } from './stream-cursor';
import type { SplitCursor } from './split-cursor';
import type { SplitMark } from './split-mark';

export interface MapCursor {
  kind?: 'map';
  /** Epoch of the NEXT micro-batch to produce (0-based). */
  epoch: number;
  /** Index within that epoch of the next micro-batch to produce. */
  micro: number;
  /**
   * Blocks this epoch's micro-batch grid is shifted back by (micro-batch k covers epoch positions
   * [k·B − shift, (k+1)·B − shift)): set only in an epoch a resume re-based to a new batch size
   * (rebase_data_cursor, src/train/cursor-rebase.ts); absent = 0.
   */
  shift?: number;
  /** Snapshots of the stateful pipeline steps on the batches edge after this cursor's micro-batch, by step name (src/actors/step-snapshots.ts). */
  steps?: Record<string, unknown>;
  /** Written by an older ptflow when this micro-batch was not the last a batches-edge step split one into (schemas/split-mark.ts). */
  split?: SplitMark;
}

/** Where a data source (the collator, the cache's block reader) resumes from. */
export type DataCursor = MapCursor | StreamCursor | CacheStreamCursor;

/** What a micro-batch's meta and a checkpoint hold: a source's cursor, or one in the middle of a split (schemas/split-cursor.ts). */
export type TrainCursor = DataCursor | SplitCursor;

export interface TrainBatchMeta {
  /** Epoch of this micro-batch (0-based) and its index in the epoch (streaming: in the run). */
  epoch: number;
  micro: number;
  /** Micro-batches per epoch (null when streaming: unknown). */
  microPerEpoch: number | null;
  lastInEpoch: boolean;
  /** Training blocks per epoch (null when streaming). */
  blocks: number | null;
  /** Tokens in this micro-batch that are real (attention mask 1). */
  tokens: number;
  cursor: TrainCursor;
}
