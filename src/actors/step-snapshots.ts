/**
 * Step state in checkpoints: what a resumed run restores its stateful `pipeline:` steps from, by step
 * name, in the data cursor the trainer stores (`steps` in ptflow_state.json's cursor).
 *
 * Docs and tokens edges, streamed run (`streaming: true`). A streamed run resumes by seeking the reader
 * to the RawDocs batch its cursor names (schemas/stream-cursor.ts) and reading on from there; a stateful
 * step on these edges must then be in the state it had before that batch. So each such step adds its
 * snapshot, taken before the batch, to the meta of what it makes of the batch; the collator copies the
 * snapshots of the batch a cursor starts at into the cursor. A resumed run re-sends the evaluation
 * documents first, as the interrupted run did at its start; the step meets them in its initial state,
 * as then, and is restored just before the first training batch. (A map-style run re-reads every
 * document on resume instead, so these steps need nothing from the checkpoint there.)
 *
 *   withStepSnapshot(meta, step, snapshot) → meta   (unchanged unless it is a streamed training batch's)
 *
 * Batches edge, every kind of run. The collator (or the cache's block reader) sends the training
 * micro-batches from the checkpoint's cursor on, so a step there never sees the batches before it again.
 * Each micro-batch's meta holds the cursor to resume from right after it; the step adds its snapshot
 * taken after the batch to that cursor, and on resume starts from it.
 *
 *   withCursorSnapshot(meta, step, snapshot) → meta (unchanged unless the meta holds a data cursor)
 *
 *   stepSnapshotsOf(cursor) → { step: snapshot }    (empty for a cursor without any)
 *
 * A batches step may send several micro-batches for one it got; each carries the input's cursor (after
 * the whole input micro-batch). All but the last are marked (schemas/split-mark.ts): a checkpoint
 * taken there cannot be resumed exactly, and the resume says so instead of losing the rest.
 *
 *   splitOutputMetas(meta, step, n) → the n metas to send (meta itself for n ≤ 1 or no cursor)
 */
import type { JsonValue } from '../../schemas/ports';
import type { Json } from './api';

type JsonObject = { [k: string]: JsonValue };

const isObject = (v: JsonValue | undefined): v is JsonObject => v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

/** `o.steps` with `step: snapshot` added (a new object; `o` is not changed). */
function addStep(o: JsonObject, step: string, snapshot: Json): JsonObject {
  const steps = isObject(o.steps) ? o.steps : {};
  return { ...o, steps: { ...steps, [step]: snapshot as JsonValue } };
}

/** Is this the meta of a streamed training batch (the reader state a cursor starts at)? */
export function isStreamTrainMeta(meta: JsonValue): meta is JsonObject {
  return isObject(meta) && isObject(meta.state);
}

export function withStepSnapshot(meta: JsonValue, step: string, snapshot: Json | undefined): JsonValue {
  if (snapshot === undefined || !isStreamTrainMeta(meta)) return meta;
  return addStep(meta, step, snapshot);
}

export function withCursorSnapshot(meta: JsonValue, step: string, snapshot: Json | undefined): JsonValue {
  if (snapshot === undefined || !isObject(meta) || !isObject(meta.cursor)) return meta;
  return { ...meta, cursor: addStep(meta.cursor, step, snapshot) };
}

export function splitOutputMetas(meta: JsonValue, step: string, n: number): JsonValue[] {
  if (n <= 1 || !isObject(meta) || !isObject(meta.cursor)) return new Array<JsonValue>(n).fill(meta);
  const cursor = meta.cursor;
  return Array.from({ length: n }, (_, i) =>
    i === n - 1 ? meta : { ...meta, lastInEpoch: false, cursor: { ...cursor, split: { step, sent: i + 1, of: n } } },
  );
}

export function stepSnapshotsOf(cursor: unknown): Record<string, Json> {
  if (cursor === null || typeof cursor !== 'object') return {};
  const steps = (cursor as { steps?: unknown }).steps;
  return steps !== null && typeof steps === 'object' && !Array.isArray(steps) ? (steps as Record<string, Json>) : {};
}
