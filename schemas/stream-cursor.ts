/**
 * The data cursor of a streamed run (`streaming: true`): exactly where the document stream stands after
 * the last micro-batch the trainer consumed, small enough to travel in every TrainBatch meta and to be
 * stored in a checkpoint, and enough to resume in O(1) — seek, don't re-read or re-tokenize.
 *
 *   StreamCursor = the shard's state at the start of the RawDocs batch that completed the last block
 *                  (`shard`), plus where in that batch the next block starts (`doc`, `token`).
 *
 * The shard state names documents by position, never by text: (global file id, pos, next), where `pos`
 * is the byte offset of the record's first byte for line-based files (jsonl, txt, json lines) and the
 * record index for the others (csv, json arrays, parquet, arrow); `next` is the position after it (so a
 * resident document is re-read with exactly one read of its bytes).
 *
 * `parseStreamCursor(json, where)` validates a cursor read from a checkpoint (zod), naming `where`.
 */
import { z } from 'zod';
import { PtflowError } from '../src/errors';
import { splitMarkSchema, type SplitMark } from './split-mark';

/** Where one dataset's reader stands: `order` = index into this epoch's file order, `pos` in that file. */
export interface SourcePos {
  order: number;
  pos: number;
}

/** Serialisable xoshiro128** state (src/data/rng.ts). */
export interface RngWords {
  s: [number, number, number, number];
}

/** State of the streamed mixing of several datasets (`mix_strategy`). */
export interface MixState {
  /** Draws of `interleave_probs` (null without probabilities). */
  rng: RngWords | null;
  /** Round robin: the source whose turn is next. Concat: the source being read. */
  turn: number;
  /** Sources that reached their end at least once in this epoch. */
  exhausted: boolean[];
}

/** The shuffle buffer: its generator and resident documents as flat [fileId, pos, next, fileId, pos, next, …]. */
export interface BufferState {
  rng: RngWords;
  /** 'fill'/'stream': slots in buffer order. 'drain': remaining documents in the order they will be yielded. */
  phase: 'fill' | 'stream' | 'drain';
  slots: number[];
}

/** The streamed source at one moment: everything needed to continue it exactly. */
export interface StreamShardState {
  /** Data epoch (0-based); the shuffle seed of epoch e is `seed + e`. */
  epoch: number;
  /** Documents the shuffled stream has yielded in this epoch (the first `val_size` are eval / skipped). */
  taken: number;
  /** Training documents emitted so far, all epochs (the next doc id). */
  emitted: number;
  /** True once the merged stream of this epoch has ended (the buffer is draining). */
  ended: boolean;
  sources: SourcePos[];
  mix: MixState;
  buffer: BufferState;
  /** What the state was made for, checked on resume. */
  check: { files: number; buffer_size: number; seed: number; val_size: number };
}

export interface StreamCursor {
  kind: 'stream';
  shard: StreamShardState;
  /** Index (in the RawDocs batch that starts at `shard`) of the document where the next block starts. */
  doc: number;
  /** Token offset within that document where the next block starts. */
  token: number;
  /** Training micro-batches produced up to and including the one this cursor follows. */
  micro: number;
  /**
   * Snapshots (`snapshot()`, JSON) of the stateful pipeline steps, by step name: of those on the docs
   * and tokens edges taken before they processed the RawDocs batch that starts at `shard` (a resumed run
   * restores them before that batch is re-read), of those on the batches edge taken after this cursor's
   * micro-batch (src/actors/step-snapshots.ts).
   */
  steps?: Record<string, unknown>;
  /** Written by an older ptflow when this micro-batch was not the last a batches-edge step split one into (schemas/split-mark.ts). */
  split?: SplitMark;
}

const uint32 = z.number().int().min(0).max(0xffffffff);
const rngSchema = z.object({ s: z.tuple([uint32, uint32, uint32, uint32]) });
const nat = z.number().int().min(0);

const shardSchema = z.object({
  epoch: nat,
  taken: nat,
  emitted: nat,
  ended: z.boolean(),
  sources: z.array(z.object({ order: nat, pos: nat })),
  mix: z.object({ rng: rngSchema.nullable(), turn: nat, exhausted: z.array(z.boolean()) }),
  buffer: z.object({
    rng: rngSchema,
    phase: z.enum(['fill', 'stream', 'drain']),
    slots: z.array(nat).refine((a) => a.length % 3 === 0, 'slots must hold (fileId, pos, next) triples'),
  }),
  check: z.object({ files: nat, buffer_size: nat, seed: z.number().int(), val_size: nat }),
});

const cursorSchema = z.object({ kind: z.literal('stream'), shard: shardSchema, doc: nat, token: nat, micro: nat, steps: z.record(z.string(), z.unknown()).optional(), split: splitMarkSchema.optional() });

export function isStreamCursor(v: unknown): v is StreamCursor {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'stream';
}

export function parseStreamCursor(json: unknown, where: string): StreamCursor {
  const r = cursorSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${where}: invalid stream cursor at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data as StreamCursor;
}
