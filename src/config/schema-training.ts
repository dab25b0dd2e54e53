/**
 * Keys of Hugging Face's `TrainingArguments` (as LLaMA-Factory passes them through) that ptflow
 * honours, with the transformers 4.57 defaults. `logging_steps`, `save_steps` and `eval_steps`
 * below 1 are a fraction of the total optimizer steps (see `resolveStepInterval`); the raw value
 * is kept here.
 */
import { z } from 'zod';
import {
  above,
  atLeast,
  atMost,
  below,
  bool,
  coerceBool,
  fieldMeta,
  int,
  kwargs,
  num,
  oneOf,
  optInt,
  optList,
  optBool,
  optNum,

  optStr,
  rule,
} from './fields';

const interval = (def: number, help: string) =>
  num(def, help, above(0), rule((v) => v <= 1 || Number.isInteger(v), 'must be an integer when > 1 (below 1 it is a ratio of the total steps)'));

/** `resume_from_checkpoint`: a checkpoint directory, true (the last checkpoint in output_dir) or null. */
const resumeFromCheckpoint = z
  .preprocess(
    (v) => {
      const b = coerceBool(v);
      if (b === false || v === '') return null;
      if (b === true && typeof v !== 'string') return true;
      if (typeof v === 'string' && (v.toLowerCase() === 'true')) return true;
      return v;
    },
    z.union([z.string(), z.literal(true), z.null()], {
      error: 'must be a checkpoint directory, true (the last checkpoint in output_dir) or null',
    }),
  )
  .default(null)
  .describe(
    'Resume from this checkpoint directory, or true for the last checkpoint-N in output_dir. ' +
      'null: resume automatically when output_dir holds checkpoints (unless overwrite_output_dir).',
  );
fieldMeta.add(resumeFromCheckpoint, { type: 'path | true | null', default: null });

export const LR_SCHEDULERS = [
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'constant',
  'constant_with_warmup',
  'inverse_sqrt',
  'warmup_stable_decay',
] as const;

export const trainingFields = {
  output_dir: optStr('Directory for checkpoints, the final model, logs and results. Required.'),
  overwrite_output_dir: bool(false, 'Start afresh even if output_dir holds checkpoints (no auto-resume).'),
  do_train: bool(false, 'Run training (LLaMA-Factory configs set do_train: true).'),
  do_eval: bool(false, 'Evaluate (eval_loss, eval_perplexity) after training; needs eval_dataset or val_size.'),
  per_device_train_batch_size: int(8, 'Sequences per micro-batch in training.', atLeast(1)),
  per_device_eval_batch_size: int(8, 'Sequences per batch in evaluation.', atLeast(1)),
  gradient_accumulation_steps: int(1, 'Micro-batches per optimizer step.', atLeast(1)),
  learning_rate: num(5e-5, 'Peak learning rate of AdamW.', atLeast(0)),
  num_train_epochs: num(3, 'Epochs to train when max_steps is not set (may be fractional).', above(0)),
  max_steps: int(
    -1,
    'Total optimizer steps; overrides num_train_epochs. -1 = from num_train_epochs. Required with streaming.',
    rule((v) => v === -1 || v > 0, 'must be -1 (use num_train_epochs) or a positive number of steps'),
  ),
  lr_scheduler_type: oneOf(LR_SCHEDULERS, 'linear', 'Learning-rate schedule (Hugging Face formulas).'),
  lr_scheduler_kwargs: kwargs(
    'Extra schedule arguments, e.g. {num_cycles: 0.5} for cosine, {power: 1.0, lr_end: 1e-7} for ' +
      'polynomial, {num_stable_steps: 100, num_decay_steps: 50} for warmup_stable_decay.',
  ),
  warmup_ratio: num(0, 'Linear warmup as a fraction of the total steps (ceil). Ignored when warmup_steps > 0.', atLeast(0), atMost(1)),
  warmup_steps: int(0, 'Linear warmup steps; overrides warmup_ratio.', atLeast(0)),
  weight_decay: num(0, 'AdamW decoupled weight decay (not applied to norms and biases).', atLeast(0)),
  adam_beta1: num(0.9, 'AdamW beta1.', atLeast(0), below(1)),
  adam_beta2: num(0.999, 'AdamW beta2.', atLeast(0), below(1)),
  adam_epsilon: num(1e-8, 'AdamW epsilon.', above(0)),
  max_grad_norm: num(1.0, 'Clip the global gradient norm to this value; 0 = no clipping.', atLeast(0)),
  gradient_checkpointing: optBool(
    'Recompute each decoder layer\'s activations in the backward pass instead of keeping them (bit-identical results, ' +
      'less memory, one more forward pass of the layers per step); true = every layer. null = only as many of the bottom layers as needed: ' +
      'on wasm, to fit its heap; elsewhere, to keep the activations held at the step\'s peak within 1 GiB (and the step within the machine); ' +
      'disable_gradient_checkpointing: true turns it off.',
  ),
  logging_steps: interval(500, 'Log every N optimizer steps (below 1: a ratio of the total steps).'),
  save_strategy: oneOf(['steps', 'epoch', 'no'] as const, 'steps', 'When to save checkpoints.'),
  save_steps: interval(500, 'Save a checkpoint every N steps with save_strategy steps (below 1: a ratio of the total steps).'),
  save_total_limit: optInt('Keep at most this many checkpoints (the oldest are deleted); null = keep all.', atLeast(1)),
  save_only_model: bool(false, 'Checkpoints hold the weights only (no optimizer, scheduler or RNG state; cannot resume).'),
  eval_strategy: oneOf(
    ['no', 'steps', 'epoch'] as const,
    'no',
    'When to evaluate during training (anything but no turns do_eval on). Alias: evaluation_strategy.',
  ),
  eval_steps: optNum(
    'Evaluate every N steps with eval_strategy steps (below 1: a ratio of the total steps); null = logging_steps.',
    above(0),
    rule((v) => v <= 1 || Number.isInteger(v), 'must be an integer when > 1 (below 1 it is a ratio of the total steps)'),
  ),
  seed: int(42, 'Random seed (weights of train_from_scratch, LoRA init, shuffling, dropout).'),
  data_seed: optInt('Seed of the data order only; null = seed.'),
  resume_from_checkpoint: resumeFromCheckpoint,
  ignore_data_skip: bool(
    false,
    'On resume, start the training data again from its beginning instead of where the checkpoint stopped (weights, optimizer ' +
      'and step are restored). Needed to resume after changing a setting the data order depends on (cutoff_len, batch size, datasets, seed...).',
  ),
  rebase_data_cursor: bool(
    false,
    'On resume, accept a changed per_device_train_batch_size / gradient_accumulation_steps / world size (non-streamed runs): the data ' +
      'continues with the next block not trained on, in micro-batches of the new size (weights, optimizer and step are restored). ' +
      'Any other change of the data order is still refused.',
  ),
  include_num_input_tokens_seen: bool(false, 'Record num_input_tokens_seen in the logs and trainer_state.json.'),
  report_to: optList(
    'Experiment trackers. ptflow writes TensorBoard event files for `tensorboard` (or `all`); other trackers are ignored with a warning.',
  ),
  run_name: optStr('Name of the run in logs and telemetry; null = output_dir.'),
  logging_dir: optStr('Directory of the TensorBoard event files (report_to: tensorboard); null = output_dir/runs/<date>_<host>, as HF.'),
  ddp_bucket_cap_mb: optInt(
    'Data-parallel runs: the size in MiB of the fused buffers the gradients are summed in (torch DDP\'s bucket_cap_mb). A bucket\'s ' +
      'allreduce starts once the backward pass has finished its gradients, so smaller buckets overlap more of the pass, at a fixed ' +
      'cost per bucket. An untied embedding\'s rows in use go in a bucket of their own, outside this size. null = 25, torch\'s default.',
    atLeast(1),
  ),
  ddp_timeout: int(
    1800,
    'Data-parallel runs (several ranks): seconds one collective (gradient allreduce, barrier, broadcast) waits for every rank; ' +
      'past it the job ends with an error saying which rank did not join and what it was doing. 0 = wait for ever.',
    atLeast(0),
  ),
};

