/**
 * One line of `trainer_log.jsonl` (LLaMA-Factory's `LogCallback`), keys in the order written.
 * Optional keys are absent (not null) when the log entry has no such value; `throughput` and
 * `total_tokens` appear only when input tokens are counted.
 */
import { z } from 'zod';
import { pyNumber } from './trainer-state';

export interface TrainerLogLine {
  current_steps: number;
  total_steps: number;
  loss?: number;
  eval_loss?: number;
  predict_loss?: number;
  reward?: number;
  accuracy?: number;
  lr?: number;
  epoch?: number;
  /** round(current / total × 100, 2); the int 100 when total_steps is 0. */
  percentage: number;
  /** "H:MM:SS" (Python `str(timedelta)`; "N days, H:MM:SS" past a day). */
  elapsed_time: string;
  remaining_time: string;
  /** Input tokens per second since training started, rounded to 2 places. */
  throughput?: number;
  total_tokens?: number;
}

const timedelta = z.string().regex(/^(-?\d+ days?, )?\d+:\d\d:\d\d$/);

export const trainerLogLineSchema = z
  .object({
    current_steps: z.number().int(),
    total_steps: z.number().int(),
    loss: pyNumber.optional(),
    eval_loss: pyNumber.optional(),
    predict_loss: pyNumber.optional(),
    reward: pyNumber.optional(),
    accuracy: pyNumber.optional(),
    lr: pyNumber.optional(),
    epoch: pyNumber.optional(),
    percentage: pyNumber,
    elapsed_time: timedelta,
    remaining_time: timedelta,
    throughput: pyNumber.optional(),
    total_tokens: z.number().int().optional(),
  })
  .strict() satisfies z.ZodType<TrainerLogLine>;
