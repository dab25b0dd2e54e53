/**
 * `rebase_data_cursor: true`: resume a map-style (non-streamed) run after changing
 * `per_device_train_batch_size` and/or `gradient_accumulation_steps`, continuing with the next unseen
 * block of the same epoch order.
 *
 * The unit that survives such a change is the epoch position in training blocks (samples): the
 * checkpoint's cursor {epoch, micro} in old micro-batches means `micro × old batch size` blocks of
 * epoch `epoch` were consumed, whatever the batch size or accumulation. The re-based cursor starts the
 * next micro-batch exactly there. When that position is not a multiple of the new batch size, the
 * micro-batch grid of the rest of that epoch is shifted back by `shift` blocks (micro-batch k covers
 * epoch positions [k·B − shift, (k+1)·B − shift), clipped to the epoch); later epochs are unshifted.
 *
 * A re-based run records where it was re-based (`data_settings.rebase`), so its own later checkpoints
 * can still be checked: the cursor must be where the steps since then leave the data.
 */
import { z } from 'zod';
import { PtflowError } from '../errors';
import type { MapCursor } from '../../schemas/train-batch-meta';

const nat = z.number().int().min(0);

/** Where a run was re-based: its step then, the cursor it continued from, and that epoch's micro-batch count. */
export const rebaseAnchorSchema = z.object({
  step: nat,
  epoch: nat,
  micro: nat,
  shift: nat,
  /** Micro-batches of the shifted epoch (its first micro index is 0, as in any epoch); null when streaming. */
  micro_in_epoch: z.number().int().min(1).nullable(),
}).strict();
export type RebaseAnchor = z.infer<typeof rebaseAnchorSchema>;

/** The settings a re-base reads (old ones from the checkpoint, new ones from the config). */
export interface BatchUnit {
  per_device_train_batch_size: number;
  gradient_accumulation_steps: number;
}

/**
 * The cursor that continues `saved` (written with `oldUnit`) in micro-batches of `newBatch`. `saved`
 * may itself be shifted (a run re-based before). Returns the new cursor; its `shift` is 0 (omitted)
 * when the position is a multiple of the new batch size.
 */
export function rebaseMapCursor(saved: MapCursor, oldBatch: number, newBatch: number): MapCursor {
  const consumed = saved.micro * oldBatch - (saved.shift ?? 0);
  if (consumed < 0) throw new PtflowError(`data cursor ${JSON.stringify(saved)} is before the start of its epoch`);
  const micro = Math.ceil(consumed / newBatch);
  const shift = micro * newBatch - consumed;
  return shift === 0 ? { epoch: saved.epoch, micro } : { epoch: saved.epoch, micro, shift };
}

/**
 * The cursor after `steps` optimizer steps counted from the anchor (windows of `gradAccum`
 * micro-batches; the last window of an epoch may be shorter; `microPerEpoch` = an unshifted epoch).
 */
export function mapCursorAfterAnchor(anchor: RebaseAnchor, steps: number, microPerEpoch: number, gradAccum: number): MapCursor {
  const left = (anchor.micro_in_epoch ?? microPerEpoch) - anchor.micro;
  const stepsLeftInEpoch = Math.ceil(left / gradAccum);
  if (steps < stepsLeftInEpoch) {
    const micro = anchor.micro + steps * gradAccum;
    return anchor.shift === 0 ? { epoch: anchor.epoch, micro } : { epoch: anchor.epoch, micro, shift: anchor.shift };
  }
  const rest = steps - stepsLeftInEpoch;
  const stepsPerEpoch = Math.ceil(microPerEpoch / gradAccum);
  return { epoch: anchor.epoch + 1 + Math.floor(rest / stepsPerEpoch), micro: (rest % stepsPerEpoch) * gradAccum };
}
