/**
 * LoRA adapters in PEFT's on-disk layout: `adapter_model.safetensors` (tensor names such as
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, metadata `{"format": "pt"}`)
 * and `adapter_config.json` with LoraConfig's fields, keys sorted, indent 2 (as
 * `PeftConfig.save_pretrained` writes it), so `PeftModel.from_pretrained` loads it.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { PtflowError } from '../../errors';
import { writeFileAtomic } from './atomic';
import { readJsonObject } from './hf-model-dir';
import { FloatTensor, TensorSource, readSafetensorsF32, writeSafetensors } from './safetensors';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_SAFE_WEIGHTS_NAME = 'adapter_model.safetensors';

/** PEFT tensor names: `base_model.model.<HF module path>.lora_A|lora_B.weight` (no adapter name). */
const PEFT_NAME = /^base_model\.model\.[A-Za-z0-9_.]+\.lora_[AB]\.weight$/;

export interface SavePeftAdapterOptions {
  /** Arrays, or sources streamed to the file (engine/io/tf-tensor-source.ts). */
  adapterWeights: ReadonlyMap<string, FloatTensor | TensorSource>;
  rank: number;
  alpha: number;
  dropout: number;
  targetModules: readonly string[];
  baseModelNameOrPath: string | null;
  useRslora?: boolean;
}

/**
 * The adapter_config.json object: the LoraConfig fields that PEFT has written since 0.10 (newer
 * PEFT fills in later fields with their defaults; older PEFT would reject fields it lacks).
 */
export function peftAdapterConfig(o: Omit<SavePeftAdapterOptions, 'adapterWeights'>): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: o.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: o.alpha,
    lora_dropout: o.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: o.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...o.targetModules].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: o.useRslora ?? false,
  };
}

/** Save a LoRA adapter directory (created if needed). */
export async function savePeftAdapter(dir: string, o: SavePeftAdapterOptions): Promise<void> {
  if (!Number.isInteger(o.rank) || o.rank <= 0) throw new PtflowError(`${dir}: LoRA rank must be a positive integer, got ${o.rank}`);
  if (o.targetModules.length === 0) throw new PtflowError(`${dir}: LoRA target_modules is empty`);
  for (const [name, t] of o.adapterWeights) {
    if (!PEFT_NAME.test(name)) {
      throw new PtflowError(`${path.join(dir, ADAPTER_SAFE_WEIGHTS_NAME)}: tensor ${name} is not a PEFT LoRA name (base_model.model.….lora_A|lora_B.weight)`);
    }
    const isA = name.endsWith('.lora_A.weight');
    const r = isA ? t.shape[0] : t.shape[1];
    if (t.shape.length !== 2 || r !== o.rank) {
      throw new PtflowError(`${path.join(dir, ADAPTER_SAFE_WEIGHTS_NAME)}: tensor ${name} has shape [${t.shape.join(', ')}], expected rank ${o.rank} on dim ${isA ? 0 : 1}`);
    }
  }
  await fsp.mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, ADAPTER_SAFE_WEIGHTS_NAME), o.adapterWeights, { format: 'pt' });
  // PEFT writes json.dumps(..., indent=2, sort_keys=True) without a trailing newline.
  const cfg = peftAdapterConfig(o);
  const sorted = Object.fromEntries(Object.keys(cfg).sort().map((k) => [k, cfg[k]]));
  await writeFileAtomic(path.join(dir, ADAPTER_CONFIG_NAME), JSON.stringify(sorted, null, 2));
}

const LoadedConfigSchema = z.object({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number(),
  lora_dropout: z.number().optional(),
  target_modules: z.union([z.array(z.string()), z.string()]),
  base_model_name_or_path: z.string().nullable().optional(),
  use_rslora: z.boolean().optional(),
});

export type LoadedPeftConfig = z.infer<typeof LoadedConfigSchema>;

/** Load a LoRA adapter directory written by ptflow or PEFT (safetensors only). */
export async function loadPeftAdapter(dir: string): Promise<{ config: LoadedPeftConfig; weights: Map<string, FloatTensor> }> {
  const cfgFile = path.join(dir, ADAPTER_CONFIG_NAME);
  const raw = await readJsonObject(cfgFile);
  const parsed = LoadedConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PtflowError(`${cfgFile}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const { tensors } = await readSafetensorsF32(path.join(dir, ADAPTER_SAFE_WEIGHTS_NAME));
  return { config: parsed.data, weights: tensors };
}
