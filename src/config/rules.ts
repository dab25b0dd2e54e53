/**
 * Rules between keys, checked after every key has its own type: the combinations LLaMA-Factory
 * and Hugging Face reject (with their messages where they have one), the derived defaults
 * (lora_alpha, packing, eval_steps, do_eval) and warnings for settings that do nothing.
 * Each error names the keys involved and where each was set.
 */
import { usageError } from '../errors';
import type { RawTrainConfig, TrainConfig } from './schema';
import { describeSource, type ValueSource } from './yaml-source';

/** Where each key was set (keys absent here have their default). */
export type SourceMap = ReadonlyMap<string, ValueSource>;

/** Arguments each schedule accepts in `lr_scheduler_kwargs` (the HF schedule functions' parameters). */
export const SCHEDULER_KWARGS: Readonly<Record<TrainConfig['lr_scheduler_type'], readonly string[]>> = {
  linear: [],
  cosine: ['num_cycles'],
  cosine_with_restarts: ['num_cycles'],
  polynomial: ['lr_end', 'power'],
  constant: [],
  constant_with_warmup: [],
  inverse_sqrt: ['timescale'],
  warmup_stable_decay: ['num_stable_steps', 'num_decay_steps', 'min_lr_ratio', 'num_cycles', 'warmup_type', 'decay_type'],
};

const LORA_KEYS = ['lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target'] as const;
const FREEZE_KEYS = ['freeze_trainable_layers', 'freeze_trainable_modules'] as const;

/** Settles derived values and checks the rules; throws a usage error on the first broken rule. */
export function applyRules(raw: RawTrainConfig, sources: SourceMap, file: string): { config: TrainConfig; warnings: string[] } {
  const warnings: string[] = [];
  const at = (...keys: string[]): string =>
    ' (' + keys.map((k) => `${k}: ${sources.has(k) ? describeSource(sources.get(k) as ValueSource) : 'default'}`).join('; ') + ')';
  const fail = (message: string, ...keys: string[]): never => {
    throw usageError(message + (keys.length > 0 ? at(...keys) : ''));
  };

  // A key set to nothing (`output_dir=` on the command line, `output_dir:` in the file) is blamed where it was set.
  const missing = (key: string, what: string): string =>
    sources.has(key)
      ? `'${key}' is empty (${describeSource(sources.get(key) as ValueSource)}): ${what}`
      : `missing key '${key}' in ${file}: ${what}`;
  if (raw.model_name_or_path === null) {
    fail(missing('model_name_or_path', 'the local Hugging Face model directory to train (Please provide `model_name_or_path`.)'));
  }
  if (raw.output_dir === null) {
    fail(missing('output_dir', 'the directory for checkpoints, the final model and the results'));
  }

  // --- data (LLaMA-Factory DataArguments.__post_init__ and get_train_args) ---
  if (raw.dataset === null && raw.val_size > 1e-6) fail('Cannot specify `val_size` if `dataset` is None.', 'val_size');
  if (raw.eval_dataset !== null && raw.val_size > 1e-6) {
    fail('Cannot specify `val_size` if `eval_dataset` is not None.', 'val_size', 'eval_dataset');
  }
  if (raw.interleave_probs !== null) {
    if (raw.mix_strategy === 'concat') fail('`interleave_probs` is only valid for interleaved mixing.', 'interleave_probs', 'mix_strategy');
    const n = raw.interleave_probs.length;
    if (raw.dataset !== null && raw.dataset.length !== n) {
      fail(`The length of dataset and interleave probs should be identical: ${raw.dataset.length} datasets, ${n} probabilities.`, 'dataset', 'interleave_probs');
    }
    if (raw.eval_dataset !== null && raw.eval_dataset.length !== n) {
      fail(`The length of eval dataset and interleave probs should be identical: ${raw.eval_dataset.length} datasets, ${n} probabilities.`, 'eval_dataset', 'interleave_probs');
    }
    const sum = raw.interleave_probs.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6) fail(`\`interleave_probs\` must sum to 1, they sum to ${sum}.`, 'interleave_probs');
  }
  if (raw.streaming && raw.val_size > 1e-6 && raw.val_size < 1) {
    fail('Streaming mode should have an integer val size.', 'streaming', 'val_size');
  }
  if (raw.streaming && raw.max_samples !== null) fail('`max_samples` is incompatible with `streaming`.', 'streaming', 'max_samples');
  if (raw.neat_packing && raw.packing === false) {
    fail('`neat_packing` is packing with cross-document masking, it cannot go with `packing: false`.', 'neat_packing', 'packing');
  }
  const packing = raw.neat_packing ? true : (raw.packing ?? true);

  // --- training (get_train_args and HF TrainingArguments.__post_init__) ---
  if (raw.max_steps === -1 && raw.streaming) fail('Please specify `max_steps` in streaming mode.', 'streaming', 'max_steps');
  const doEval = raw.do_eval || raw.eval_strategy !== 'no';
  if (raw.do_train && raw.dataset === null) fail('Please specify dataset for training.', 'do_train', 'dataset');
  if (doEval && raw.eval_dataset === null && raw.val_size < 1e-6) {
    fail('Please make sure eval_dataset be provided or val_size >1e-6', raw.do_eval ? 'do_eval' : 'eval_strategy');
  }
  const evalSteps = raw.eval_steps ?? (raw.eval_strategy === 'steps' ? raw.logging_steps : null);
  const allowed = SCHEDULER_KWARGS[raw.lr_scheduler_type];
  for (const k of Object.keys(raw.lr_scheduler_kwargs)) {
    if (!allowed.includes(k)) {
      const accepted = allowed.length > 0 ? `it accepts ${allowed.join(', ')}` : 'it takes no arguments';
      fail(`lr_scheduler_kwargs '${k}' is not an argument of the ${raw.lr_scheduler_type} schedule: ${accepted}.`, 'lr_scheduler_kwargs', 'lr_scheduler_type');
    }
  }

  // --- warnings ---
  if (!raw.do_train && !doEval) warnings.push('neither do_train nor do_eval is true: there is nothing to do');
  if (raw.train_from_scratch && raw.finetuning_type !== 'full') {
    warnings.push(
      `train_from_scratch with finetuning_type ${raw.finetuning_type} trains only ` +
        `${raw.finetuning_type === 'lora' ? 'the LoRA adapters' : 'the last layers'} on top of random, frozen weights; ` +
        'pre-training from scratch normally uses finetuning_type: full',
    );
  }
  if (raw.warmup_steps > 0 && raw.warmup_ratio > 0) {
    warnings.push('both warmup_ratio and warmup_steps are given: warmup_steps overrides warmup_ratio');
  }
  const unused = (keys: readonly string[], type: string) => {
    for (const k of keys) {
      if (sources.has(k)) warnings.push(`'${k}'${at(k)} has no effect with finetuning_type ${raw.finetuning_type} (it applies to ${type})`);
    }
  };
  if (raw.finetuning_type !== 'lora') unused(LORA_KEYS, 'lora');
  if (raw.finetuning_type !== 'freeze') unused(FREEZE_KEYS, 'freeze');
  // 'all' (HF: every installed integration) is TensorBoard, the one ptflow writes itself.
  const reportTo = (raw.report_to ?? []).filter((r) => r.toLowerCase() !== 'none').map((r) => (r.toLowerCase() === 'all' ? 'tensorboard' : r));
  const unsupported = reportTo.filter((r) => r.toLowerCase() !== 'tensorboard');
  if (unsupported.length > 0) {
    warnings.push(
      `report_to ${unsupported.join(',')} is ignored: ptflow writes trainer_log.jsonl, and TensorBoard event files with report_to: tensorboard`,
    );
  }
  const tensorboard = reportTo.some((r) => r.toLowerCase() === 'tensorboard');
  if (raw.logging_dir !== null && !tensorboard) warnings.push(`logging_dir has no effect without report_to: tensorboard`);

  const config: TrainConfig = {
    ...raw,
    model_name_or_path: raw.model_name_or_path as string,
    output_dir: raw.output_dir as string,
    lora_alpha: raw.lora_alpha ?? raw.lora_rank * 2,
    packing,
    do_eval: doEval,
    eval_steps: evalSteps,
    report_to: [...new Set(reportTo.map((r) => (r.toLowerCase() === 'tensorboard' ? 'tensorboard' : r)))],
  };
  return { config, warnings };
}
