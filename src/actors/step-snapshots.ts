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
 * A batches step may send several micro-batches for one it got. The last carries the input's cursor
 * (after the whole input micro-batch); each of the others a split cursor (schemas/split-cursor.ts): the
 * cursor before the input (`before`: the step's cursor after its previous input, null at the data's
 * beginning) and how many of the parts were sent. A resumed run restarts the data at that input and the
 * step drops the parts trained on already.
 *
 *   splitOutputMetas(meta, step, n, before) → the n metas to send (meta itself for n ≤ 1 or no cursor)
 *   resumeAtStep(cursor, chain, step) → { before, skip }: where a batches step resumes (chain: the
 *                                      batches steps in edge order)
 *   sourceCursorOf(cursor)           → the cursor the data source resumes from
 */
import type { JsonValue } from '../../schemas/ports';
import type { Json } from './api';
import { isSplitCursor, type SplitCursor, type SplitSkip } from '../../schemas/split-cursor';
import type { DataCursor, TrainCursor } from '../../schemas/train-batch-meta';

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

export function splitOutputMetas(meta: JsonValue, step: string, n: number, before: JsonValue): JsonValue[] {
  if (n <= 1 || !isObject(meta) || !isObject(meta.cursor)) return new Array<JsonValue>(n).fill(meta);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? meta : { ...meta, lastInEpoch: false, cursor: splitCursorAt(before, step, i + 1) }));
}

/** The split cursor after `sent` parts of what `step` made of the input that `before` precedes. */
function splitCursorAt(before: JsonValue, step: string, sent: number): JsonValue {
  const skip = { step, outputs: sent };
  if (!isSplitCursor(before)) return { kind: 'split', from: before, skip: [skip] };
  const b = before as unknown as JsonObject & { skip: SplitSkip[] };
  return { ...b, skip: [...(b.skip as unknown as JsonValue[]), skip] };
}

export function stepSnapshotsOf(cursor: unknown): Record<string, Json> {
  if (cursor === null || typeof cursor !== 'object') return {};
  const own = (cursor as { steps?: unknown }).steps;
  const steps = own !== null && typeof own === 'object' && !Array.isArray(own) ? (own as Record<string, Json>) : {};
  // A split cursor's own snapshots were taken after those of the cursor it starts from.
  return isSplitCursor(cursor) ? { ...stepSnapshotsOf(cursor.from), ...steps } : steps;
}

export function sourceCursorOf(cursor: TrainCursor | null): DataCursor | null {
  return isSplitCursor(cursor) ? cursor.from : cursor;
}

/**
 * Where batches step `step` resumes from `cursor`: `skip`, the parts of its first input that were
 * trained on already, and `before`, the cursor before that input (what a split of it starts from):
 * `cursor` without the skips of `step` and the steps after it.
 */
export function resumeAtStep(cursor: JsonValue, chain: readonly string[], step: string): { before: JsonValue; skip: number } {
  if (!isSplitCursor(cursor)) return { before: cursor, skip: 0 };
  const at = chain.indexOf(step);
  const upstream = cursor.skip.filter((s) => chain.indexOf(s.step) < at);
  const skip = cursor.skip.find((s) => s.step === step)?.outputs ?? 0;
  const before = upstream.length === 0 ? (cursor.from as unknown as JsonValue) : ({ ...(cursor as SplitCursor), skip: upstream } as unknown as JsonValue);
  return { before, skip };
}
