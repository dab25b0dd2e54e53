/**
 * The Llama model configuration, read from (and written back as) a Hugging Face `config.json`.
 * Only what ptflow computes exactly is accepted: `hidden_act: silu`, no biases, no RoPE scaling,
 * no attention dropout. The raw object is kept so unknown keys survive a round trip.
 */
import { z } from 'zod';
import { PtflowError } from '../../errors';

export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
  /** The parsed `config.json` as read (empty for a config built in code). */
  raw: Record<string, unknown>;
}

const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative().nullable();

const schema = z.object({
  vocab_size: posInt,
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.nullable().optional(),
  head_dim: posInt.nullable().optional(),
  hidden_act: z.string().default('silu'),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.unknown().optional(),
  max_position_embeddings: posInt.default(2048),
  tie_word_embeddings: z.boolean().default(false),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  attention_dropout: z.number().default(0),
  initializer_range: z.number().positive().default(0.02),
  bos_token_id: tokenId.default(1),
  eos_token_id: z.union([tokenId, z.array(z.number().int().nonnegative())]).default(2),
  pad_token_id: tokenId.default(null),
  model_type: z.string().optional(),
});

/** Parses a Hugging Face Llama `config.json` object; errors name `file` and the key. */
export function parseLlamaConfig(json: unknown, file: string): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PtflowError(`${file}: expected a JSON object (a Hugging Face config.json)`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || '(root)';
    throw new PtflowError(`${file}: key "${key}": ${issue.message}`);
  }
  const c = parsed.data;
  const bad = (key: string, why: string): never => {
    throw new PtflowError(`${file}: key "${key}": ${why}`);
  };
  if (c.model_type !== undefined && c.model_type !== 'llama') {
    bad('model_type', `"${c.model_type}" is not supported (only "llama")`);
  }
  if (c.hidden_act !== 'silu') bad('hidden_act', `"${c.hidden_act}" is not supported (only "silu")`);
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    bad('rope_scaling', 'RoPE scaling is not supported (must be null)');
  }
  if (c.attention_bias) bad('attention_bias', 'biases are not supported (must be false)');
  if (c.mlp_bias) bad('mlp_bias', 'biases are not supported (must be false)');
  if (c.attention_dropout !== 0) bad('attention_dropout', 'attention dropout is not supported (must be 0)');
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  if (heads % kvHeads !== 0) {
    bad('num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`);
  }
  let headDim = c.head_dim ?? 0;
  if (!headDim) {
    if (c.hidden_size % heads !== 0) {
      bad('hidden_size', `${c.hidden_size} is not divisible by num_attention_heads ${heads}`);
    }
    headDim = c.hidden_size / heads;
  }
  if (headDim % 2 !== 0) bad('head_dim', `${headDim} must be even for rotary embeddings`);
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    maxPositionEmbeddings: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings,
    initializerRange: c.initializer_range,
    bosTokenId: c.bos_token_id,
    eosTokenId: c.eos_token_id,
    padTokenId: c.pad_token_id,
    raw: { ...(json as Record<string, unknown>) },
  };
}

/**
 * The `config.json` object to write: the raw keys as read, with the model keys set from `cfg`
 * and `architectures`, `model_type` and `torch_dtype` set for a float32 `LlamaForCausalLM`.
 */
export function llamaConfigToJson(cfg: LlamaConfig): Record<string, unknown> {
  return {
    ...cfg.raw,
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    torch_dtype: 'float32',
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    num_key_value_heads: cfg.numKeyValueHeads,
    head_dim: cfg.headDim,
    hidden_act: 'silu',
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    rope_scaling: null,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    attention_bias: false,
    mlp_bias: false,
    attention_dropout: 0.0,
    initializer_range: cfg.initializerRange,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    pad_token_id: cfg.padTokenId,
  };
}
