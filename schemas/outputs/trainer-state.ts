/**
 * `trainer_state.json`: the Hugging Face `TrainerState` (transformers 4.57) as saved by
 * `TrainerState.save_to_json` (indent 2, sorted keys). ptflow writes it at every checkpoint and in
 * the output directory, and reads it back to resume. Missing keys take the dataclass defaults (files
 * from older versions lack `best_global_step` / `stateful_callbacks`); unknown keys are an error, as
 * they are for `TrainerState(**json)`.
 */
import { z } from 'zod';

/** A Python float: any number, including NaN and ±Infinity (which zod's `z.number()` rejects). */
export const pyNumber = z.custom<number>((v) => typeof v === 'number', { message: 'expected a number' });

/** One `log_history` entry: numbers keyed by metric name, always with the integer `step`. */
export const logEntrySchema = z.record(z.string(), pyNumber).refine(
  (e) => Number.isInteger(e.step) && (e.step as number) >= 0,
  { message: 'log entry needs a non-negative integer "step"' },
);
export type LogEntry = Record<string, number>;

const jsonish: z.ZodType<CallbackValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), pyNumber, z.string(), z.array(jsonish), z.record(z.string(), jsonish)]),
);
export type CallbackValue = null | boolean | number | string | CallbackValue[] | { [key: string]: CallbackValue };

/** What an `ExportableState` callback saves: constructor args and mutable attributes. */
export const callbackStateSchema = z.object({
  args: z.record(z.string(), jsonish),
  attributes: z.record(z.string(), jsonish),
});
export type CallbackState = z.infer<typeof callbackStateSchema>;

const int = z.number().int();

export const trainerStateSchema = z
  .object({
    epoch: pyNumber.nullable().default(null),
    global_step: int.nonnegative().default(0),
    max_steps: int.default(0),
    logging_steps: int.default(500),
    eval_steps: int.default(500),
    save_steps: int.default(500),
    train_batch_size: int.nullable().default(null),
    num_train_epochs: int.default(0),
    num_input_tokens_seen: int.nonnegative().default(0),
    total_flos: pyNumber.default(0),
    log_history: z
      .array(logEntrySchema)
      .nullable()
      .default([])
      .transform((v) => v ?? []),
    best_metric: pyNumber.nullable().default(null),
    best_global_step: int.nullable().default(null),
    best_model_checkpoint: z.string().nullable().default(null),
    is_local_process_zero: z.boolean().default(true),
    is_world_process_zero: z.boolean().default(true),
    is_hyper_param_search: z.boolean().default(false),
    trial_name: z.string().nullable().default(null),
    trial_params: z.record(z.string(), z.union([z.string(), pyNumber, z.boolean()])).nullable().default(null),
    stateful_callbacks: z
      .record(z.string(), z.union([callbackStateSchema, z.array(callbackStateSchema)]))
      .nullable()
      .default({})
      .transform((v) => v ?? {}),
  })
  .strict();

export type TrainerState = z.output<typeof trainerStateSchema>;
