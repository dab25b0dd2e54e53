/**
 * Keys of LLaMA-Factory's `FinetuningArguments` that ptflow honours: the stage (pre-training only),
 * which parameters train (full / freeze / LoRA), shuffling and the loss plot.
 */
import { z } from 'zod';
import { above, atLeast, below, bool, fieldMeta, int, list, num, oneOf, optInt, rule } from './fields';

const stage = z
  .literal('pt', {
    error:
      "must be 'pt': ptflow does pre-training only (sft, rm, ppo, dpo and kto are LLaMA-Factory " +
      'stages that ptflow does not implement)',
  })
  .default('pt')
  .describe('Training stage. Only pt (causal-LM pre-training / continued pre-training).');
fieldMeta.add(stage, { type: 'pt', default: 'pt' });

export const finetuningFields = {
  stage,
  finetuning_type: oneOf(
    ['full', 'freeze', 'lora'] as const,
    'lora',
    'Which parameters train: full (all), freeze (the last freeze_trainable_layers layers) or lora ' +
      '(low-rank adapters). Default lora, as in LLaMA-Factory.',
  ),
  freeze_trainable_layers: int(
    2,
    'freeze: number of trainable layers; positive = the last n, negative = the first n.',
    rule((v) => v !== 0, 'must not be 0 (positive = last n layers, negative = first n layers)'),
  ),
  freeze_trainable_modules: list(
    'all',
    'freeze: module names trainable inside those layers (e.g. self_attn,mlp); all = every module.',
  ),
  lora_rank: int(8, 'lora: rank r of the adapters.', atLeast(1)),
  lora_alpha: optInt('lora: scaling numerator (scale = alpha / rank); null = 2 x lora_rank.', above(0)),
  lora_dropout: num(0, 'lora: dropout rate on the adapter input.', atLeast(0), below(1)),
  lora_target: list(
    'all',
    'lora: module names to adapt (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj); ' +
      'all = every linear layer except lm_head.',
  ),
  disable_shuffling: bool(false, 'Keep the training order of the data (no shuffle).'),
  plot_loss: bool(false, 'Write training_loss.png (and training_eval_loss.png) to output_dir.'),
};
