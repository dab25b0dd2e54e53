/**
 * Tiny configurations, weights and micro-batches for checking the model: random weights of a
 * useful scale (so attention and the nonlinearities matter), right padding, left padding and
 * packed documents with segment ids.
 */
import { IGNORE_INDEX } from '../../../schemas/train-batch';
import type { MicroBatch } from '../batch';
import { parseLlamaConfig, type LlamaConfig } from '../model/config';
import type { WeightTensor } from '../model/llama';
import { parameterShapes } from '../model/names';
import { hashSeed, normalArray } from '../model/rng';

/** vocab 11, hidden 8, 2 layers, 2 heads sharing 1 kv head (head dim 4), MLP 12. */
export function tinyConfig(overrides: Record<string, unknown> = {}): LlamaConfig {
  return parseLlamaConfig(
    {
      vocab_size: 11,
      hidden_size: 8,
      intermediate_size: 12,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      max_position_embeddings: 64,
      ...overrides,
    },
    'tiny config',
  );
}

/** Random weights: N(0, std²) for matrices, 1 + N(0, 0.1²) for norms. */
export function randomWeights(cfg: LlamaConfig, seed: number, std = 0.4): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const [name, shape] of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data =
      shape.length === 1
        ? normalArray(n, 0.1, hashSeed(seed, name)).map((v) => 1 + v)
        : normalArray(n, std, hashSeed(seed, name));
    out.set(name, { shape, data });
  }
  return out;
}

export function toFloat64(w: Map<string, { data: ArrayLike<number> }>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [k, v] of w) out.set(k, Float64Array.from(v.data));
  return out;
}

function batch(
  B: number,
  T: number,
  ids: number[],
  mask: number[],
  extra: Partial<MicroBatch> = {},
): MicroBatch {
  const labels = ids.map((id, i) => (mask[i] ? id : IGNORE_INDEX));
  return {
    batchSize: B,
    seqLen: T,
    inputIds: Int32Array.from(ids),
    labels: Int32Array.from(labels),
    attentionMask: Int32Array.from(mask),
    ...extra,
  };
}

/** Batch 2 × seq 5; the second row right-padded by two. */
export function paddedBatch(): MicroBatch {
  return batch(2, 5, [3, 7, 1, 9, 4, 2, 10, 5, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
}

/** Batch 2 × seq 5; the second row left-padded by one. */
export function leftPaddedBatch(): MicroBatch {
  return batch(2, 5, [3, 7, 1, 9, 4, 0, 2, 10, 5, 6], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1]);
}

/** Batch 2 × seq 5 of packed documents: segments restart positions and block attention. */
export function packedBatch(): MicroBatch {
  const segmentIds = Int32Array.from([0, 0, 1, 1, 1, 0, 1, 1, 2, 2]);
  const positionIds = Int32Array.from([0, 1, 0, 1, 2, 0, 0, 1, 0, 1]);
  return batch(2, 5, [3, 7, 1, 9, 4, 2, 10, 5, 8, 6], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], {
    segmentIds,
    positionIds,
  });
}
