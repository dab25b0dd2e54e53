/**
 * The shapes `bench/scale.ts` measures: the SmolLM-135M architecture (hidden 576, 30 layers,
 * 9 heads, 3 kv heads, intermediate 1536, tied embeddings) with a 32k vocabulary at
 * cutoff 512 × batch 4 and 2048 × batch 1, and the reference bench model (util/reference-model.ts).
 * The same JSON goes to bench/torch_step.py, which builds the same model in PyTorch.
 */
import { parseLlamaConfig, type LlamaConfig } from '../../src/engine/model/config';
import { REFERENCE_HF, REFERENCE_SHAPE, referenceConfig } from './reference-model';

export interface ScaleShape {
  name: string;
  /** Hugging Face config.json fields. */
  hf: Record<string, number | boolean | string>;
  batchSize: number;
  seqLen: number;
}

const SMOLLM_135M = {
  model_type: 'llama',
  vocab_size: 32000,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  tie_word_embeddings: true,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 2048,
};

export const SCALE_SHAPES: ScaleShape[] = [
  { name: 'smollm135m-512x4', hf: SMOLLM_135M, batchSize: 4, seqLen: 512 },
  { name: 'smollm135m-2048x1', hf: SMOLLM_135M, batchSize: 1, seqLen: 2048 },
  { name: 'reference', hf: REFERENCE_HF, batchSize: REFERENCE_SHAPE.batchSize, seqLen: REFERENCE_SHAPE.seqLen },
];

export function shapeConfig(s: ScaleShape): LlamaConfig {
  return s.name === 'reference' ? referenceConfig() : parseLlamaConfig(s.hf, `bench shape ${s.name}`);
}

export function findShape(name: string): ScaleShape {
  const s = SCALE_SHAPES.find((x) => x.name === name);
  if (s === undefined) throw new Error(`unknown shape ${name}: ${SCALE_SHAPES.map((x) => x.name).join(', ')}`);
  return s;
}
