/**
 * The data cursor of a streamed run over a tokenized cache (`streaming: true` with `tokenized_path`,
 * actors/CacheBlockActor.ts): blocks are read in order and pass through a seeded shuffle buffer of
 * `buffer_size` blocks. The cursor names the buffer's blocks by index (never by content), so a resumed
 * run re-reads exactly those blocks and continues the same sequence.
 *
 *   CacheStreamCursor = { epoch, read: blocks of this epoch read into the buffer so far,
 *                         buffer: { rng, phase, slots: block indices }, micro: micro-batches produced }
 *
 * `parseCacheStreamCursor(json, where)` validates one read from a checkpoint (zod), naming `where`.
 */
import { z } from 'zod';
import { PtflowError } from '../src/errors';
import { splitMarkSchema, type SplitMark } from './split-mark';

export interface CacheStreamCursor {
  kind: 'cache-stream';
  /** Epoch (0-based) of the next block; the buffer of epoch e draws from `Rng(seed, e)`. */
  epoch: number;
  /** Blocks of this epoch pushed into the buffer so far (the next one to read). */
  read: number;
  buffer: { rng: { s: [number, number, number, number] }; phase: 'fill' | 'stream' | 'drain'; slots: number[] };
  /** Training micro-batches produced up to and including the one this cursor follows. */
  micro: number;
  /** What the state was made for, checked on resume. */
  check: { blocks: number; buffer_size: number; seed: number };
  /** Snapshots of the stateful pipeline steps on the batches edge after this cursor's micro-batch, by step name (src/actors/step-snapshots.ts). */
  steps?: Record<string, unknown>;
  /** Written by an older ptflow when this micro-batch was not the last a batches-edge step split one into (schemas/split-mark.ts). */
  split?: SplitMark;
}

const uint32 = z.number().int().min(0).max(0xffffffff);
const nat = z.number().int().min(0);

const cacheStreamCursorSchema = z.object({
  kind: z.literal('cache-stream'),
  epoch: nat,
  read: nat,
  buffer: z.object({ rng: z.object({ s: z.tuple([uint32, uint32, uint32, uint32]) }), phase: z.enum(['fill', 'stream', 'drain']), slots: z.array(nat) }),
  micro: nat,
  check: z.object({ blocks: nat, buffer_size: nat, seed: z.number().int() }),
  steps: z.record(z.string(), z.unknown()).optional(),
  split: splitMarkSchema.optional(),
});

export function isCacheStreamCursor(v: unknown): v is CacheStreamCursor {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'cache-stream';
}

export function parseCacheStreamCursor(json: unknown, where: string): CacheStreamCursor {
  const r = cacheStreamCursorSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${where}: invalid cache stream cursor: key "${issue.path.join('.') || '(root)'}": ${issue.message}`, 2);
  }
  return r.data as CacheStreamCursor;
}
