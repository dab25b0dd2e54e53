/**
 * The reference pre-training step the benchmarks measure: a Llama with vocab 8192, hidden 256,
 * intermediate 704, 4 layers, 4 heads, 4 kv heads, untied head; batch 8 × seq 128 (7.4M params,
 * 33.4 MFLOP/token), and its FLOP count.
 */
import { countLossTokens, type MicroBatch } from '../../src/engine/batch';
import { parseLlamaConfig, type LlamaConfig } from '../../src/engine/model/config';

export const REFERENCE_SHAPE = { batchSize: 8, seqLen: 128 } as const;

/** The reference model's Hugging Face config.json fields (also handed to bench/torch_step.py). */
export const REFERENCE_HF = {
  model_type: 'llama',
  vocab_size: 8192,
  hidden_size: 256,
  intermediate_size: 704,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  tie_word_embeddings: false,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 128,
};

export function referenceConfig(): LlamaConfig {
  return parseLlamaConfig(REFERENCE_HF, 'bench reference config');
}

/**
 * Training FLOPs per token: 6 × (parameters excluding the input embedding, including lm_head)
 * + 12 × layers × seq × hidden (attention scores and weighted sums, forward and backward).
 */
export function flopsPerToken(paramShapes: Iterable<[string, readonly number[]]>, cfg: LlamaConfig, seqLen: number): number {
  let n = 0;
  for (const [name, shape] of paramShapes) {
    if (name === 'model.embed_tokens.weight') continue;
    n += shape.reduce((a, b) => a * b, 1);
  }
  return 6 * n + 12 * cfg.numHiddenLayers * seqLen * cfg.hiddenSize;
}

/** A seeded random micro-batch of token ids (labels = inputs; the loss shifts them). */
export function randomBatch(vocab: number, batchSize: number, seqLen: number, seed = 1): MicroBatch {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const inputIds = Int32Array.from({ length: batchSize * seqLen }, () => next() % vocab);
  return {
    batchSize,
    seqLen,
    inputIds,
    labels: inputIds.slice(),
    attentionMask: new Int32Array(batchSize * seqLen).fill(1),
  };
}

/** Re-exported for the benchmarks that count loss tokens of these batches. */
export { countLossTokens };
