/**
 * Builds the model a run trains or evaluates: from a config (`train_from_scratch`) or from a local
 * Hugging Face checkpoint (continued pre-training), with the fine-tuning type applied, or restored from
 * one of ptflow's own `checkpoint-N` directories on resume.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../errors';
import { loadHfModelDir, readJsonObject } from '../engine/io/hf-model-dir';
import { loadPeftAdapter } from '../engine/io/peft';
import { parseLlamaConfig, type LlamaConfig } from '../engine/model/config';
import { LlamaModel, type FinetuningArgs, type WeightTensor } from '../engine/model/llama';
import type { FloatTensor } from '../engine/io/safetensors';

export interface ModelSetupParams {
  model_name_or_path: string;
  train_from_scratch: boolean;
  finetuning_type: 'full' | 'freeze' | 'lora';
  freeze_trainable_layers: number;
  freeze_trainable_modules: string[] | string;
  lora_rank: number;
  lora_alpha: number | null;
  lora_dropout: number;
  lora_target: string[] | string;
  seed: number;
}

export function finetuningArgs(p: ModelSetupParams): FinetuningArgs {
  if (p.finetuning_type === 'lora') {
    return {
      finetuningType: 'lora',
      rank: p.lora_rank,
      alpha: p.lora_alpha ?? p.lora_rank * 2,
      dropout: p.lora_dropout,
      target: p.lora_target,
      seed: p.seed,
    } as FinetuningArgs;
  }
  if (p.finetuning_type === 'freeze') {
    return {
      finetuningType: 'freeze',
      trainableLayers: p.freeze_trainable_layers,
      trainableModules: p.freeze_trainable_modules,
    } as FinetuningArgs;
  }
  return { finetuningType: 'full' };
}

export async function readModelConfig(dir: string): Promise<LlamaConfig> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) throw new PtflowError(`model_name_or_path: ${file} not found (a Hugging Face model directory needs config.json)`, 2);
  try {
    return parseLlamaConfig(await readJsonObject(file), file);
  } catch (e) {
    // The model directory is part of what the user asked for: a bad config.json is a usage error.
    if (e instanceof PtflowError) throw new PtflowError(e.message, 2);
    throw e;
  }
}

/**
 * The model to train. `resumeDir` (a ptflow checkpoint) wins over everything: its weights are the
 * full model for full/freeze, or the adapter on top of the base model for lora.
 */
export async function setupModel(p: ModelSetupParams, resumeDir: string | null): Promise<LlamaModel> {
  const cfg = await readModelConfig(p.model_name_or_path);
  let model: LlamaModel;
  const lora = p.finetuning_type === 'lora';
  if (resumeDir && !lora) {
    const { weights, weightsFile } = await loadHfModelDir(resumeDir);
    refuseNonFinite(weights, weightsFile);
    model = LlamaModel.fromWeights(cfg, mutableShapes(weights), resumeDir);
  } else if (p.train_from_scratch) {
    model = LlamaModel.init(cfg, p.seed);
  } else {
    const { weights, weightsFile } = await loadHfModelDir(p.model_name_or_path);
    refuseNonFinite(weights, weightsFile);
    model = LlamaModel.fromWeights(cfg, mutableShapes(weights), weightsFile);
  }
  model.setFinetuning(finetuningArgs(p));
  if (resumeDir && lora) {
    const { weights } = await loadPeftAdapter(resumeDir);
    refuseNonFinite(weights, path.join(resumeDir, 'adapter_model.safetensors'));
    const trainable = model.trainableParams();
    for (const [name, t] of weights) {
      const v = trainable.get(name);
      if (!v) throw new PtflowError(`${resumeDir}: adapter tensor "${name}" does not match this LoRA setup`);
      v.assign(tensorLike(v.shape, t.data, name, resumeDir));
    }
  }
  return model;
}

/**
 * Weights with a NaN or an infinity would train into NaN losses at step 1 and be blamed on the
 * training; they are refused when loaded, naming the file and the tensor.
 */
export function refuseNonFinite(weights: ReadonlyMap<string, { data: Float32Array }>, file: string): void {
  for (const [name, t] of weights) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new PtflowError(`${file}: tensor ${name} has non-finite values (element ${i} is ${d[i]}); the weights are damaged`, 2);
      }
    }
  }
}

function tensorLike(shape: number[], data: Float32Array, name: string, where: string): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new PtflowError(`${where}: tensor "${name}" has ${data.length} values, expected shape [${shape}]`);
  return tf.tensor(data, shape);
}

function mutableShapes(w: ReadonlyMap<string, FloatTensor>): Map<string, WeightTensor> {
  return new Map([...w].map(([k, v]) => [k, { shape: [...v.shape], data: v.data }]));
}
