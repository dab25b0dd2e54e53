/**
 * The mark a data cursor carries when the micro-batch it follows is not the last of those a `pipeline:`
 * step on the batches edge made of one input micro-batch (a step that splits one micro-batch into
 * several). Such a cursor points after the whole input micro-batch, so it cannot resume a run between
 * them: a checkpoint whose cursor carries the mark is refused on resume (src/train/resume-check.ts).
 */
import { z } from 'zod';

export interface SplitMark {
  /** The step that split the micro-batch. */
  step: string;
  /** Micro-batches of the split sent up to and including this one. */
  sent: number;
  /** Micro-batches the step made of its input micro-batch. */
  of: number;
}

const count = z.number().int().min(1);
export const splitMarkSchema = z.object({ step: z.string(), sent: count, of: count }).strict();
