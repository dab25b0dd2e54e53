/**
 * The data cursor of a micro-batch that is not the last of those a `pipeline:` step on the batches edge
 * made of one input micro-batch (a step that splits one micro-batch into several). The data can only
 * continue at a whole input micro-batch, so the cursor says where the data continues *before* that
 * input, and how many of the micro-batches each splitting step makes of it were trained on already:
 *
 *   SplitCursor = { kind: 'split', from: the cursor before the split input (null: the data's beginning),
 *                   skip: [{ step, outputs }] in pipeline order, steps: snapshots added after `from` }
 *
 * A resumed run starts its data source at `from`, restores the steps upstream of and at the split from
 * their snapshots before the input, and each step named in `skip` drops that many of the first
 * micro-batches it makes: the trainer gets the rest of the split, exactly as the interrupted run did.
 * A step downstream of a split adds its snapshot after the micro-batch to `steps`, which take
 * precedence over `from.steps` (src/actors/step-snapshots.ts).
 *
 * `parseSplitCursor(json, where, parseFrom)` validates one read from a checkpoint (zod), naming `where`.
 */
import { z } from 'zod';
import { PtflowError } from '../src/errors';
import type { DataCursor } from './train-batch-meta';

export interface SplitSkip {
  /** The step that split the input micro-batch. */
  step: string;
  /** How many of the micro-batches it made of the input were trained on (1 ≤ outputs < what it made). */
  outputs: number;
}

export interface SplitCursor {
  kind: 'split';
  /** Where the data continues before the split input micro-batch; null: the beginning of the data. Never a split cursor itself. */
  from: DataCursor | null;
  skip: SplitSkip[];
  /** Snapshots of stateful batches-edge steps taken after this micro-batch, by step name (they win over `from.steps`). */
  steps?: Record<string, unknown>;
}

const splitCursorSchema = z.object({
  kind: z.literal('split'),
  from: z.unknown(),
  skip: z.array(z.object({ step: z.string().min(1), outputs: z.number().int().min(1) }).strict()).min(1),
  steps: z.record(z.string(), z.unknown()).optional(),
}).strict();

export function isSplitCursor(c: unknown): c is SplitCursor {
  return c !== null && typeof c === 'object' && (c as { kind?: unknown }).kind === 'split';
}

/** Validates a split cursor read from `where`; `parseFrom` validates its `from` (a cursor of another kind, or null). */
export function parseSplitCursor(json: unknown, where: string, parseFrom: (from: unknown, where: string) => DataCursor | null): SplitCursor {
  const r = splitCursorSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${where}: invalid split cursor at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (isSplitCursor(r.data.from)) throw new PtflowError(`${where}: invalid split cursor at from: a split cursor cannot start from another split cursor`);
  const from = r.data.from === null ? null : parseFrom(r.data.from, `${where}.from`);
  const steps = r.data.skip.map((s) => s.step);
  const twice = steps.find((s, i) => steps.indexOf(s) !== i);
  if (twice !== undefined) throw new PtflowError(`${where}: invalid split cursor at skip: step '${twice}' is named twice`);
  return { kind: 'split', from, skip: r.data.skip, ...(r.data.steps ? { steps: r.data.steps } : {}) };
}
