/**
 * Keys of LLaMA-Factory's `ModelArguments` that ptflow honours: which model to start from and
 * whether to initialise it randomly, and whether gradient checkpointing may be used.
 */
import { bool, optStr } from './fields';

export const modelFields = {
  model_name_or_path: optStr(
    'Local Hugging Face model directory (config.json, tokenizer files, and *.safetensors unless ' +
      'train_from_scratch). Required. Relative paths are taken from the current directory.',
  ),
  train_from_scratch: bool(
    false,
    'Initialise the weights randomly from the model config.json instead of loading its safetensors.',
  ),
  disable_gradient_checkpointing: bool(
    false,
    'Never recompute activations in the backward pass (LLaMA-Factory\'s key; wins over gradient_checkpointing).',
  ),
};
