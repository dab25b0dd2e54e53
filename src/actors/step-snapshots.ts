/**
 * Step state in the checkpoints of a streamed run (`streaming: true`). A streamed run resumes by seeking
 * the reader to the RawDocs batch its cursor names (schemas/stream-cursor.ts) and reading on from
 * there; a stateful step on the docs or tokens edge must then be in the state it had before that batch.
 * So each such step adds its snapshot, taken before the batch, to the meta of what it makes of the
 * batch; the collator copies the snapshots of the batch a cursor starts at into the cursor (`steps`),
 * the trainer stores the cursor in the checkpoint, and on resume each step is restored from it.
 *
 *   withStepSnapshot(meta, step, snapshot) → meta   (unchanged unless it is a streamed training batch's)
 *
 * A resumed run re-sends the evaluation documents first, as the interrupted run did at its start; the
 * step meets them in its initial state, as then, and is restored just before the first training batch.
 *   stepSnapshotsOf(cursor) → { step: snapshot }    (empty for a map-style cursor)
 */
import type { JsonValue } from '../../schemas/ports';
import { isStreamCursor } from '../../schemas/stream-cursor';
import type { Json } from './api';

/** Is this the meta of a streamed training batch (the reader state a cursor starts at)? */
export function isStreamTrainMeta(meta: JsonValue): meta is { [k: string]: JsonValue } {
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) && meta.state !== null && typeof meta.state === 'object';
}

export function withStepSnapshot(meta: JsonValue, step: string, snapshot: Json | undefined): JsonValue {
  if (snapshot === undefined || !isStreamTrainMeta(meta)) return meta;
  const steps = (meta.steps !== null && typeof meta.steps === 'object' && !Array.isArray(meta.steps) ? meta.steps : {}) as Record<string, JsonValue>;
  return { ...meta, steps: { ...steps, [step]: snapshot as JsonValue } };
}

export function stepSnapshotsOf(cursor: unknown): Record<string, Json> {
  if (!isStreamCursor(cursor) || cursor.steps === undefined) return {};
  return cursor.steps as Record<string, Json>;
}
