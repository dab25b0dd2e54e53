/**
 * Everything a resume checks before a thread starts, so that a resumed run either continues exactly
 * where the checkpoint stopped or refuses with what is wrong:
 *
 *  1. The checkpoint's files agree with each other: the directory name checkpoint-N, trainer_state.json
 *     `global_step`, scheduler.json `last_epoch` / `_step_count`, rng_state.json `step` and
 *     ptflow_state.json `step` all say N; ptflow_state.json is well formed (its cursor included) and its
 *     data cursor is where N optimizer steps leave the data (unless a `pipeline:` step on the batches
 *     edge may drop or split micro-batches: then the cursor alone says where the data continues; between
 *     the parts of a split micro-batch it is a split cursor, schemas/split-cursor.ts). A cursor an older
 *     ptflow marked as between such parts (schemas/split-mark.ts) is refused (exit 2) unless ignore_data_skip.
 *  2. The settings the data order depends on (src/train/data-settings.ts), the `pipeline:` steps
 *     included, are those the checkpoint was written with (the world size may change if per_device_train_batch_size × world_size stays).
 *     A change is refused, naming each key old → new, unless `ignore_data_skip: true` (then the data
 *     starts again from its beginning; weights, optimizer and step are restored), or, for a change of
 *     batch size / accumulation / world size only, `rebase_data_cursor: true` (the data continues at
 *     the next unseen block: src/train/cursor-rebase.ts).
 *
 * Returns the data cursor to resume from (null with ignore_data_skip) and where it started anew. A damaged or inconsistent
 * checkpoint is a runtime failure (exit 1, as any other broken checkpoint file); a changed setting is a
 * usage error (exit 2).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PtflowError } from '../errors';
import { parseTrainerState } from '../outputs/trainer-state';
import { pyLoads } from '../outputs/pyjson';
import { isStreamCursor, parseStreamCursor } from '../../schemas/stream-cursor';
import { isCacheStreamCursor, parseCacheStreamCursor } from '../../schemas/cache-cursor';
import type { DataCursor, MapCursor, TrainCursor } from '../../schemas/train-batch-meta';
import { isSplitCursor, parseSplitCursor } from '../../schemas/split-cursor';
import type { JsonValue } from '../../schemas/ports';
import { dataSettingsSchema, diffDataSettings, globalMicroBatch, type DataSettings } from './data-settings';
import { mapCursorAfterAnchor, rebaseMapCursor, type RebaseAnchor } from './cursor-rebase';
import { hasBatchesStep } from './pipeline-settings';
import { splitMarkSchema, type SplitMark } from '../../schemas/split-mark';

const nat = z.number().int().min(0);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const mapCursorSchema = z.object({ kind: z.literal('map').optional(), epoch: nat, micro: nat, shift: nat.optional(), steps: z.record(z.string(), z.unknown()).optional(), split: splitMarkSchema.optional() }).strict();

/** ptflow_state.json as written by saveCheckpoint (`step` and `data_settings` are absent in older checkpoints). */
export const ptflowStateSchema = z.object({
  lossSinceLog: finite,
  stepsSinceLog: nat,
  lossTotal: finite,
  tokensSeen: nat,
  cursor: z.unknown(),
  skippedSteps: nat,
  save_only_model: z.boolean().optional(),
  step: nat.optional(),
  data_settings: dataSettingsSchema.optional(),
  /** Every rank's cursor when batches-edge steps made them differ (several ranks); `cursor` is rank 0's. */
  rank_cursors: z.array(z.unknown()).min(2).optional(),
});
export type PtflowStateFile = z.infer<typeof ptflowStateSchema>;

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PtflowError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the checkpoint is incomplete`);
  }
  return pyLoads(text, file);
}

function issueAt(file: string, err: z.ZodError): PtflowError {
  const issue = err.issues[0];
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  return new PtflowError(`${file}: field ${key}: ${issue.message}`);
}

/** Reads and validates ptflow_state.json (shape only). */
export function readPtflowState(dir: string): PtflowStateFile {
  const file = path.join(dir, 'ptflow_state.json');
  const r = ptflowStateSchema.safeParse(readJson(file));
  if (!r.success) throw issueAt(file, r.error);
  return r.data;
}

/** The cursor after `steps` optimizer steps of `gradAccum` micro-batches (the last window of an epoch may be shorter). */
export function mapCursorAfter(steps: number, microPerEpoch: number, gradAccum: number): MapCursor {
  const stepsPerEpoch = Math.ceil(microPerEpoch / gradAccum);
  const epoch = Math.floor(steps / stepsPerEpoch);
  return { epoch, micro: (steps % stepsPerEpoch) * gradAccum };
}

function mismatch(file: string, field: string, value: unknown, step: number, reference: string): PtflowError {
  return new PtflowError(
    `${file}: ${field} is ${JSON.stringify(value)} but ${reference} says step ${step}: the checkpoint's files disagree ` +
      '(edited or mixed from different checkpoints); resume from another checkpoint or start afresh',
  );
}

/** Step 1: the files of checkpoint `dir` agree with each other. Returns its step and run state. */
export function checkCheckpointFiles(dir: string): { step: number; state: PtflowStateFile } {
  const tsFile = path.join(dir, 'trainer_state.json');
  let tsText: string;
  try {
    tsText = readFileSync(tsFile, 'utf8');
  } catch (e) {
    throw new PtflowError(`${tsFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const step = parseTrainerState(tsText, tsFile).global_step;
  const ref = `${tsFile} (global_step)`;
  const named = /^checkpoint-(\d+)$/.exec(path.basename(path.resolve(dir)));
  if (named && Number(named[1]) !== step) {
    throw new PtflowError(
      `${tsFile}: field global_step is ${step} but the directory is ${path.basename(path.resolve(dir))}: ` +
        'the checkpoint was edited or copied under another name; resume from another checkpoint or start afresh',
    );
  }
  const state = readPtflowState(dir);
  const psFile = path.join(dir, 'ptflow_state.json');
  if (state.save_only_model) {
    throw new PtflowError(`${dir} was saved with save_only_model: true and holds no optimizer state; it cannot be resumed`);
  }
  if (state.step !== undefined && state.step !== step) throw mismatch(psFile, 'field step', state.step, step, ref);
  const schedFile = path.join(dir, 'scheduler.json');
  const sched = z.object({ last_epoch: nat, _step_count: nat }).safeParse(readJson(schedFile));
  if (!sched.success) throw issueAt(schedFile, sched.error);
  if (sched.data.last_epoch !== step) throw mismatch(schedFile, 'field last_epoch', sched.data.last_epoch, step, ref);
  if (sched.data._step_count !== step + 1) throw mismatch(schedFile, 'field _step_count', sched.data._step_count, step + 1, ref);
  const rngFile = path.join(dir, 'rng_state.json');
  const rng = z.object({ seed: z.number().int(), step: nat }).safeParse(readJson(rngFile));
  if (!rng.success) throw issueAt(rngFile, rng.error);
  if (rng.data.step !== step) throw mismatch(rngFile, 'field step', rng.data.step, step, ref);
  return { step, state };
}

/** A streamed run's cursor counts micro-batches since its data last started (at step 0, or where ignore_data_skip restarted it). */
function streamMicroAfter(s: DataSettings, step: number): number {
  const from = s.rebase !== undefined && step >= s.rebase.step ? s.rebase.step : 0;
  return (step - from) * s.gradient_accumulation_steps;
}

/**
 * The cursor of `state` validated for its kind, and checked against `step` where the checkpoint says
 * enough. With a `pipeline:` step on the batches edge (`batchesSteps`) the cursor is not checked against
 * the step: such a step may drop micro-batches or split one into several, so the cursor (the data the
 * collator sent) and the step (the micro-batches the trainer took) part, and the cursor is where the
 * data continues.
 */
function checkCursor(file: string, state: PtflowStateFile, step: number, batchesSteps: boolean, c: unknown = state.cursor, field = 'cursor'): TrainCursor | null {
  if (c === null || c === undefined) {
    if (step > 0) throw new PtflowError(`${file}: field ${field} is missing at step ${step} (the data position is unknown)`);
    return null;
  }
  if (isSplitCursor(c)) {
    // Only a batches-edge step makes one; where it starts is not tied to the step count.
    return parseSplitCursor(c, `${file}: field ${field}`, (from) => checkSourceCursor(file, from, state.data_settings, step, true, `${field}.from`));
  }
  return checkSourceCursor(file, c, state.data_settings, step, batchesSteps, field);
}

function checkSourceCursor(file: string, c: unknown, s: DataSettings | undefined, step: number, batchesSteps: boolean, field: string): DataCursor {
  const kind = typeof c === 'object' ? (c as { kind?: unknown }).kind : undefined;
  const streamed = kind === 'stream' || kind === 'cache-stream';
  if (s && streamed !== s.streaming) {
    throw new PtflowError(
      `${file}: field ${field} is a ${streamed ? 'streamed' : 'map-style'} run's cursor but field data_settings.streaming is ${s.streaming}: ` +
        "the checkpoint's files disagree (edited or mixed from different checkpoints); resume from another checkpoint or start afresh",
    );
  }
  if (typeof c === 'object' && (c as { kind?: unknown }).kind === 'cache-stream') {
    const cursor = parseCacheStreamCursor(c, `${file}: field ${field}`);
    if (s && !batchesSteps && cursor.micro !== streamMicroAfter(s, step)) {
      throw mismatch(file, `field ${field}.micro`, cursor.micro, step, `${path.join(path.dirname(file), 'trainer_state.json')} (global_step)`);
    }
    return cursor;
  }
  if (typeof c === 'object' && (c as { kind?: unknown }).kind === 'stream') {
    const cursor = parseStreamCursor(c, `${file}: field ${field}`);
    if (s && !batchesSteps && cursor.micro !== streamMicroAfter(s, step)) {
      throw mismatch(file, `field ${field}.micro`, cursor.micro, step, `${path.join(path.dirname(file), 'trainer_state.json')} (global_step)`);
    }
    return cursor;
  }
  const r = mapCursorSchema.safeParse(c);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${file}: field ${field}${issue.path.length ? '.' + issue.path.join('.') : ''}: ${issue.message} (got ${JSON.stringify(c)})`);
  }
  const cursor = r.data;
  if (s && s.micro_per_epoch !== null) {
    // A re-based run's shifted epoch has its own micro-batch count (src/train/cursor-rebase.ts).
    const inShifted = s.rebase !== undefined && cursor.epoch === s.rebase.epoch;
    const epochMicro = (inShifted ? s.rebase!.micro_in_epoch : null) ?? s.micro_per_epoch;
    if (cursor.micro >= epochMicro) {
      throw new PtflowError(
        `${file}: field ${field}.micro is ${cursor.micro}, past the end of an epoch of ${epochMicro} micro-batches`,
      );
    }
    if (batchesSteps) return cursor;
    const want: MapCursor = s.rebase !== undefined && step >= s.rebase.step
      ? mapCursorAfterAnchor(s.rebase, step - s.rebase.step, s.micro_per_epoch, s.gradient_accumulation_steps)
      : mapCursorAfter(step, s.micro_per_epoch, s.gradient_accumulation_steps);
    if (want.epoch !== cursor.epoch || want.micro !== cursor.micro || (want.shift ?? 0) !== (cursor.shift ?? 0)) {
      throw new PtflowError(
        `${file}: field ${field} is ${JSON.stringify(cursor)} but ${step} steps leave the data at ` +
          `${JSON.stringify(want)} (global_step in trainer_state.json): the checkpoint's files disagree; resume from another checkpoint or start afresh`,
      );
    }
  }
  return cursor;
}

export interface ResumePlan {
  cursor: TrainCursor | null;
  /** Said before training (e.g. what ignore_data_skip accepted). */
  notes: string[];
  /** Where the data cursor starts anew (rebase_data_cursor, or ignore_data_skip's restart); the trainer completes and records it. */
  rebase: Omit<RebaseAnchor, 'micro_in_epoch'> | null;
  /** The checkpoint holds every rank's cursor: `cursor` is this rank's own ('own', as many ranks) or rank 0's ('rank0', said in `notes`). */
  rankCursors?: 'own' | 'rank0';
}

/** The batch-unit keys rebase_data_cursor accepts a change of (the cursor counts global micro-batches). */
const REBASABLE = ['per_device_train_batch_size', 'gradient_accumulation_steps', 'world_size'] as const;

/**
 * Steps 1 and 2 (see the file comment). `now` = the current run's data settings; `rank`: this process's
 * rank, whose own cursor a checkpoint with `rank_cursors` holds when written by as many ranks.
 */
export function checkResume(dir: string, now: DataSettings, ignoreDataSkip: boolean, rebaseCursor = false, rank = 0): ResumePlan {
  if (ignoreDataSkip && rebaseCursor) {
    throw new PtflowError('ignore_data_skip and rebase_data_cursor are both true: the data either starts again or continues re-based; set one of them', 2);
  }
  const { step, state } = checkCheckpointFiles(dir);
  const file = path.join(dir, 'ptflow_state.json');
  const saved = state.data_settings;
  // A checkpoint of an older ptflow does not record its steps: the current ones stand in.
  const batchesSteps = hasBatchesStep(saved?.pipeline ?? now.pipeline ?? []);
  let cursor = checkCursor(file, state, step, batchesSteps);
  const notes: string[] = [];
  const ranks = state.rank_cursors;
  let rankCursors: ResumePlan['rankCursors'];
  if (ranks !== undefined) {
    ranks.forEach((c, r) => checkCursor(file, state, step, true, c, `rank_cursors.${r}`));
    if (saved !== undefined && saved.world_size !== ranks.length) {
      throw new PtflowError(
        `${file}: field rank_cursors holds ${ranks.length} cursors but field data_settings.world_size is ${saved.world_size}: ` +
          "the checkpoint's files disagree (edited or mixed from different checkpoints); resume from another checkpoint or start afresh",
      );
    }
    if (ranks.length === now.world_size) {
      cursor = checkCursor(file, state, step, true, ranks[rank], `rank_cursors.${rank}`);
      rankCursors = 'own';
    } else if (!ignoreDataSkip) {
      rankCursors = 'rank0';
      notes.push(
        `warning: ${dir} holds the data cursor of each of its ${ranks.length} ranks (their batches-edge pipeline steps went apart); ` +
          `on ${now.world_size} process${now.world_size === 1 ? '' : 'es'} every rank continues from rank 0's: the token stream is not ` +
          `guaranteed to match an uninterrupted run. Resume on ${ranks.length} processes to continue exactly.`,
      );
    }
  }
  if (!saved) {
    notes.push(`note: ${dir} does not record its data settings (written by an older ptflow): the data order cannot be checked`);
    if (rebaseCursor) throw new PtflowError(`rebase_data_cursor: ${dir} does not record the batch size it was written with (written by an older ptflow); it cannot be re-based`, 2);
    return { cursor: ignoreDataSkip ? null : cursor, notes, rebase: null };
  }
  const changes = diffDataSettings(saved, { ...now, micro_per_epoch: saved.micro_per_epoch });
  if (ignoreDataSkip) {
    notes.push(
      `ignore_data_skip: resuming the weights, optimizer and step ${step} of ${dir}; the training data starts again from its beginning` +
        (changes.length > 0 ? ` (changed since the checkpoint: ${changes.join('; ')})` : ''),
    );
    // The data restarts here: later checkpoints of this run are checked from this step on.
    return { cursor: null, notes, rebase: { step, epoch: 0, micro: 0, shift: 0 } };
  }
  const split = cursor === null || isSplitCursor(cursor) ? undefined : cursor.split;
  if (split !== undefined) throw midSplit(dir, step, split);
  if (saved.pipeline === undefined) {
    notes.push(`note: ${dir} does not record its pipeline: steps (written by an older ptflow): a change of them since then cannot be checked`);
  }
  if (rebaseCursor) return rebased(dir, file, step, cursor, saved, now, notes);
  if (changes.length > 0) {
    throw new PtflowError(
      `cannot resume ${dir} exactly: the data order depends on settings that changed since it was written: ${changes.join('; ')}. ` +
        'Restore them, or start afresh (overwrite_output_dir: true, or another output_dir), or set ignore_data_skip: true to keep ' +
        'the weights, optimizer and step and start the data again from its beginning' + rebaseHint(saved, now),
      2,
    );
  }
  if (saved.world_size !== now.world_size && ranks === undefined) {
    notes.push(
      `resuming ${dir}, written by ${saved.world_size} process${saved.world_size === 1 ? '' : 'es'} × per_device_train_batch_size ` +
        `${saved.per_device_train_batch_size}, on ${now.world_size} × ${now.per_device_train_batch_size}: the same global batch, the same data order`,
    );
  }
  return { cursor, notes, rebase: null, ...(rankCursors ? { rankCursors } : {}) };
}

function midSplit(dir: string, step: number, m: SplitMark): PtflowError {
  return new PtflowError(
    `cannot resume ${dir} exactly: step ${step} ended on micro-batch ${m.sent} of the ${m.of} that pipeline step '${m.step}' made of one ` +
      `micro-batch, and its data cursor, written by an older ptflow, can only continue after the whole micro-batch it split (the other ${m.of - m.sent} would be lost). ` +
      'Resume from a checkpoint written at the end of a split, or set ignore_data_skip: true to keep the weights, optimizer and step and start ' +
      'the data again from its beginning, or start afresh',
    2,
  );
}

/** The changes rebase_data_cursor cannot accept (everything but the batch unit). */
function changesBesidesUnit(saved: DataSettings, now: DataSettings): string[] {
  const unit = { per_device_train_batch_size: now.per_device_train_batch_size, world_size: now.world_size, gradient_accumulation_steps: now.gradient_accumulation_steps };
  return diffDataSettings({ ...saved, ...unit }, { ...now, micro_per_epoch: saved.micro_per_epoch });
}

function rebaseHint(saved: DataSettings, now: DataSettings): string {
  return changesBesidesUnit(saved, now).length === 0 && !saved.streaming ? ', or set rebase_data_cursor: true to continue with the next unseen block in the new batch size' : '';
}

/** rebase_data_cursor: only batch-unit changes, a map-style cursor; the cursor continues at the same block. */
function rebased(dir: string, file: string, step: number, cursor: TrainCursor | null, saved: DataSettings, now: DataSettings, notes: string[]): ResumePlan {
  const unit = REBASABLE.filter((k) => saved[k] !== now[k]).map((k) => `${k} ${saved[k]} → ${now[k]}`);
  const others = changesBesidesUnit(saved, now);
  if (others.length > 0) {
    throw new PtflowError(
      `cannot resume ${dir}: rebase_data_cursor accepts a change of ${REBASABLE.join(' / ')} only, and the data order depends on ` +
        `settings that changed too: ${others.join('; ')}. Restore them, or start afresh, or set ignore_data_skip: true (instead of rebase_data_cursor) to start the data again from its beginning`,
      2,
    );
  }
  if (isSplitCursor(cursor)) {
    const by = cursor.skip.map((k) => `'${k.step}'`).join(', ');
    throw new PtflowError(
      `rebase_data_cursor: step ${step} of ${dir} ended in the middle of a micro-batch that pipeline step ${by} split, which cannot be re-based; ` +
        'resume from another checkpoint, or set ignore_data_skip: true to start the data again instead',
      2,
    );
  }
  if (saved.streaming || (cursor !== null && (cursor as { kind?: string }).kind !== undefined && (cursor as { kind?: string }).kind !== 'map')) {
    throw new PtflowError(`rebase_data_cursor: ${file} holds a streamed run's cursor, which cannot be re-based; set ignore_data_skip: true to start the data again instead`, 2);
  }
  if (unit.length === 0 || cursor === null) {
    notes.push(`note: rebase_data_cursor: nothing to re-base (${dir} was written with this batch size and accumulation)`);
    return { cursor, notes, rebase: null };
  }
  const from = cursor as MapCursor;
  // The batches-edge steps' snapshots go on with the data (src/actors/step-snapshots.ts).
  const to: MapCursor = { ...rebaseMapCursor(from, globalMicroBatch(saved), globalMicroBatch(now)), ...(from.steps ? { steps: from.steps } : {}) };
  const position = from.micro * globalMicroBatch(saved) - (from.shift ?? 0);
  notes.push(
    `rebase_data_cursor: ${unit.join('; ')}: step ${step} of ${dir} continues at block ${position} of epoch ${from.epoch}, the next one not trained on ` +
      `(micro-batch ${to.micro} of ${globalMicroBatch(now)} blocks${to.shift ? `, that epoch's micro-batches shifted back by ${to.shift} blocks` : ''})`,
  );
  return { cursor: to, notes, rebase: { step, epoch: to.epoch, micro: to.micro, shift: to.shift ?? 0 } };
}
