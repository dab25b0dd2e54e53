/**
 * Keys that LLaMA-Factory / Hugging Face configs commonly carry but that ptflow does not use.
 * They are accepted so an existing YAML runs, each with one warning:
 * - `ignored`: no effect on the trained weights here (kernels, hub, distributed plumbing, ...);
 * - `not-honoured`: the value would change results in LLaMA-Factory but ptflow cannot do it
 *   (bf16 / fp16 / quantization / ...). The warning says so when the value asks for it;
 * - `unsupported`: a method ptflow does not implement. Its neutral value only warns; any other
 *   value is a usage error, because the run would silently be a different experiment.
 * Also: aliases (old key names mapped to the current ones).
 */

export type ForeignKind = 'ignored' | 'not-honoured' | 'unsupported';

export interface ForeignKey {
  kind: ForeignKind;
  /** Why the key does nothing here / what ptflow does instead. */
  note: string;
  /** For not-honoured / unsupported keys: the values that ask for nothing (default, off). */
  neutral?: (value: unknown) => boolean;
}

const off = (v: unknown): boolean =>
  v === null || v === undefined || v === false || v === 0 || v === '' ||
  (typeof v === 'string' && ['false', 'no', 'none', 'null', '0'].includes(v.trim().toLowerCase())) ||
  (Array.isArray(v) && v.length === 0);

const FP32 = 'ptflow trains and evaluates in float32';
const ignored = (note: string): ForeignKey => ({ kind: 'ignored', note });
const notHonoured = (note: string, neutral: (v: unknown) => boolean = off): ForeignKey => ({ kind: 'not-honoured', note, neutral });
const unsupported = (note: string, neutral: (v: unknown) => boolean = off): ForeignKey => ({ kind: 'unsupported', note, neutral });

export const FOREIGN_KEYS: Readonly<Record<string, ForeignKey>> = {
  // --- ModelArguments ---
  template: ignored('pre-training tokenizes raw text (text + eos) without a chat template'),
  trust_remote_code: ignored('ptflow runs its own Llama implementation, no model code is loaded'),
  cache_dir: ignored('ptflow reads local model directories only'),
  model_revision: ignored('ptflow reads local model directories only'),
  hf_hub_token: ignored('ptflow reads local model directories only'),
  ms_hub_token: ignored('ptflow reads local model directories only'),
  use_fast_tokenizer: ignored("ptflow always uses the model's tokenizer.json"),
  low_cpu_mem_usage: ignored('weights are loaded tensor by tensor anyway'),
  flash_attn: ignored('attention is computed by ptflow kernels (same result up to float rounding)'),
  enable_liger_kernel: ignored('kernels are chosen by the backend'),
  use_unsloth: ignored('kernels are chosen by the backend'),
  use_unsloth_gc: ignored('kernels are chosen by the backend'),
  use_reentrant_gc: ignored('ptflow recomputes each decoder layer in its own backward pass (no reentrant variant)'),
  upcast_layernorm: ignored(`${FP32} already`),
  upcast_lmhead_output: ignored(`${FP32} already`),
  infer_backend: ignored('ptflow does not run inference'),
  infer_dtype: ignored('ptflow does not run inference'),
  print_param_status: ignored('ptflow prints the trainable parameter count at start'),
  moe_aux_loss_coef: ignored('Llama models are dense'),
  quantization_bit: notHonoured('weights stay in float32; quantized (QLoRA) training is not available'),
  quantization_method: ignored('weights stay in float32'),
  quantization_type: ignored('weights stay in float32'),
  double_quantization: ignored('weights stay in float32'),
  rope_scaling: notHonoured("ptflow uses the rope settings in the model's config.json"),
  split_special_tokens: notHonoured('special tokens in the text are tokenized as the tokenizer defines'),
  resize_vocab: unsupported('the vocabulary cannot be resized'),
  add_tokens: unsupported('tokens cannot be added to the tokenizer'),
  add_special_tokens: unsupported('tokens cannot be added to the tokenizer'),
  adapter_name_or_path: unsupported('training cannot continue from an existing LoRA adapter (merge it first)'),
  shift_attn: unsupported('shift short attention (S^2-Attn)'),
  mixture_of_depths: unsupported('mixture of depths'),

  // --- DataArguments ---
  preprocessing_num_workers: ignored('use tokenizer_workers'),
  preprocessing_batch_size: ignored('ptflow packs across batch boundaries (the remainder is carried over), so no batch size applies'),
  dataloader_num_workers: ignored('use tokenizer_workers / prefetch_batches'),
  dataloader_pin_memory: ignored('no pinned memory in TensorFlow.js'),
  dataloader_persistent_workers: ignored('workers live for the whole run'),
  dataloader_prefetch_factor: ignored('use prefetch_batches / prefetch_bytes'),
  media_dir: ignored('text-only pre-training'),
  ignore_pad_token_for_loss: ignored('padding is always masked from the loss (by attention mask)'),
  data_shared_file_system: ignored('single process'),
  tool_format: ignored('chat templates do not apply to pre-training'),
  default_system: ignored('chat templates do not apply to pre-training'),
  enable_thinking: ignored('chat templates do not apply to pre-training'),
  eval_num_beams: ignored('ptflow does not generate'),
  train_on_prompt: unsupported('`train_on_prompt` or `mask_history` cannot be set as True except SFT'),
  mask_history: unsupported('`train_on_prompt` or `mask_history` cannot be set as True except SFT'),
  eval_on_each_dataset: unsupported('evaluation on each dataset separately'),

  // --- FinetuningArguments ---
  pure_bf16: notHonoured(`${FP32}; pure bf16 training would give different results`),
  use_dora: unsupported('DoRA (plain LoRA only)'),
  use_rslora: unsupported('rank-stabilised LoRA scaling (scale = lora_alpha / lora_rank)'),
  pissa_init: unsupported('PiSSA initialisation'),
  pissa_convert: unsupported('PiSSA'),
  loraplus_lr_ratio: unsupported('LoRA+ learning rates'),
  additional_target: unsupported('extra trainable modules besides the LoRA layers'),
  freeze_extra_modules: unsupported('extra trainable modules besides the hidden layers'),
  create_new_adapter: ignored('a new adapter is always created'),
  use_llama_pro: unsupported('LLaMA Pro block expansion'),
  use_galore: unsupported('GaLore (AdamW only)'),
  use_apollo: unsupported('APOLLO (AdamW only)'),
  use_badam: unsupported('BAdam (AdamW only)'),
  use_adam_mini: unsupported('Adam-mini (AdamW only)'),
  use_muon: unsupported('Muon (AdamW only)'),
  compute_accuracy: unsupported('token accuracy at evaluation (eval_loss and eval_perplexity only)'),
  early_stopping_steps: unsupported('early stopping'),
  include_effective_tokens_per_second: ignored('ptflow always reports tokens per second'),
  use_swanlab: ignored('ptflow reports to trainer_log.jsonl and trainer_state.json in output_dir'),
  swanlab_project: ignored('ptflow reports to trainer_log.jsonl and trainer_state.json in output_dir'),
  swanlab_run_name: ignored('ptflow reports to trainer_log.jsonl and trainer_state.json in output_dir'),

  // --- TrainingArguments (Hugging Face) ---
  bf16: notHonoured(`${FP32}; bf16 mixed precision would give different results`),
  fp16: notHonoured(`${FP32}; fp16 mixed precision would give different results`),
  fp8: notHonoured(`${FP32}; fp8 training would give different results`),
  bf16_full_eval: notHonoured(`${FP32}`),
  fp16_full_eval: notHonoured(`${FP32}`),
  tf32: notHonoured('matrix products are computed in float32 by the backend'),
  half_precision_backend: ignored(FP32),
  deepspeed: notHonoured('ptflow has no DeepSpeed: every data-parallel rank holds the whole model and optimizer state (no ZeRO partitioning or offload)'),
  fsdp: notHonoured('ptflow has no FSDP: every data-parallel rank holds the whole model'),
  fsdp_config: notHonoured('ptflow has no FSDP: every data-parallel rank holds the whole model'),
  ddp_find_unused_parameters: ignored('every trainable parameter is summed each step (zeros from a rank that has no gradient for it)'),
  ddp_backend: ignored('ranks exchange gradients through MPI (README "Multiple machines")'),
  local_rank: ignored('the rank and world size come from MPI (mpiexec, srun, the MPI Operator)'),
  average_tokens_across_devices: ignored('the loss is always divided by the labelled tokens of the whole global batch, over every rank'),
  gradient_checkpointing_kwargs: ignored('ptflow recomputes each decoder layer in its own backward pass (no reentrant variant)'),
  torch_compile: ignored('TensorFlow.js backends are not compiled'),
  use_cpu: ignored('choose the device with backend'),
  optim: unsupported('ptflow implements AdamW only', (v) => off(v) || (typeof v === 'string' && /^adamw_(torch|torch_fused|hf)$/.test(v))),
  optim_args: ignored('AdamW takes adam_beta1, adam_beta2, adam_epsilon and weight_decay'),
  remove_unused_columns: ignored('ptflow feeds input_ids, attention_mask and labels only'),
  label_names: ignored('the label is always labels'),
  logging_strategy: unsupported('only logging_strategy steps is implemented (use logging_steps)', (v) => off(v) || v === 'steps'),
  logging_first_step: notHonoured('the first log is written after logging_steps steps'),
  logging_nan_inf_filter: ignored('see skip_nonfinite_steps'),
  disable_tqdm: ignored('progress is printed as one line per log'),
  log_level: ignored('ptflow prints its own log lines'),
  save_safetensors: notHonoured('weights are always saved as safetensors', (v) => v === true || v === null),
  save_on_each_node: ignored('single process'),
  load_best_model_at_end: unsupported('keeping the best checkpoint'),
  metric_for_best_model: ignored('keeping the best checkpoint'),
  greater_is_better: ignored('keeping the best checkpoint'),
  eval_on_start: notHonoured('evaluation runs on eval_strategy / after training only'),
  do_predict: ignored('pre-training has no prediction step'),
  predict_with_generate: unsupported('`predict_with_generate` cannot be set as True except SFT'),
  neftune_noise_alpha: unsupported('NEFTune embedding noise'),
  label_smoothing_factor: unsupported('label smoothing'),
  auto_find_batch_size: unsupported('the batch size is fixed by per_device_train_batch_size'),
  group_by_length: ignored('packed blocks all have cutoff_len tokens'),
  full_determinism: ignored('ptflow runs are deterministic for a given seed on a given backend'),
  include_tokens_per_second: ignored('ptflow always reports tokens per second'),
  push_to_hub: unsupported('ptflow does not upload; output_dir is a Hugging Face model directory to upload yourself'),
  hub_model_id: ignored('ptflow does not upload'),
  hub_strategy: ignored('ptflow does not upload'),
  hub_token: ignored('ptflow does not upload'),
  hub_private_repo: ignored('ptflow does not upload'),
  ray_num_workers: ignored('single process, no Ray'),
};

/** Old key names and the key they mean now. */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  evaluation_strategy: 'eval_strategy',
};

/** The one warning for a foreign key given with `value`; undefined when the key is unsupported and asked for. */
export function foreignKeyWarning(key: string, value: unknown, where: string): string | undefined {
  const spec = FOREIGN_KEYS[key];
  if (spec === undefined) return undefined;
  const shown = `${key}: ${formatValue(value)}`;
  const neutral = spec.neutral === undefined || spec.neutral(value);
  if (spec.kind === 'ignored' || neutral) return `'${shown}' (${where}) is ignored: ${spec.note}`;
  if (spec.kind === 'not-honoured') return `'${shown}' (${where}) cannot be honoured: ${spec.note}`;
  return undefined;
}

/** The usage-error text for an unsupported key given with a value that asks for it, else undefined. */
export function unsupportedKeyError(key: string, value: unknown, where: string): string | undefined {
  const spec = FOREIGN_KEYS[key];
  if (spec === undefined || spec.kind !== 'unsupported' || spec.neutral === undefined || spec.neutral(value)) return undefined;
  return `'${key}: ${formatValue(value)}' (${where}) is not supported: ${spec.note}`;
}

/** A config value as the user would have written it. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? "''" : value;
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}
