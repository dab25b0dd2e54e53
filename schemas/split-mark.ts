/**
 * The mark an older ptflow put on a data cursor when the micro-batch it follows was not the last of
 * those a `pipeline:` step on the batches edge made of one input micro-batch. Such a cursor points
 * after the whole input micro-batch and does not say where the split began, so a checkpoint whose cursor
 * carries the mark cannot be resumed exactly and is refused (src/train/resume-check.ts). ptflow now
 * writes a split cursor there instead (schemas/split-cursor.ts), which resumes exactly.
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
