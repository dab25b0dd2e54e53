/**
 * Hugging Face tensor names and shapes of a `LlamaForCausalLM` (linear weights [out, in]),
 * and which parameters take weight decay.
 */
import type { LlamaConfig } from './config';

export const ATTN_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
export const MLP_MODULES = ['gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof ATTN_MODULES)[number] | (typeof MLP_MODULES)[number];
export const LINEAR_MODULES: readonly LinearModule[] = [...ATTN_MODULES, ...MLP_MODULES];

/** `model.layers.{i}.self_attn.q_proj` etc. */
export function linearPath(layer: number, m: LinearModule): string {
  const block = (ATTN_MODULES as readonly string[]).includes(m) ? 'self_attn' : 'mlp';
  return `model.layers.${layer}.${block}.${m}`;
}

/** [out, in] of a linear module. */
export function linearShape(cfg: LlamaConfig, m: LinearModule): [number, number] {
  const d = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  switch (m) {
    case 'q_proj':
      return [q, d];
    case 'k_proj':
    case 'v_proj':
      return [kv, d];
    case 'o_proj':
      return [d, q];
    case 'gate_proj':
    case 'up_proj':
      return [cfg.intermediateSize, d];
    case 'down_proj':
      return [d, cfg.intermediateSize];
  }
}

/** Every parameter name with its shape, in Hugging Face's `named_parameters()` order. */
export function parameterShapes(cfg: LlamaConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  out.set('model.embed_tokens.weight', [cfg.vocabSize, cfg.hiddenSize]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    for (const m of ATTN_MODULES) out.set(`${linearPath(i, m)}.weight`, linearShape(cfg, m));
    for (const m of MLP_MODULES) out.set(`${linearPath(i, m)}.weight`, linearShape(cfg, m));
    out.set(`model.layers.${i}.input_layernorm.weight`, [cfg.hiddenSize]);
    out.set(`model.layers.${i}.post_attention_layernorm.weight`, [cfg.hiddenSize]);
  }
  out.set('model.norm.weight', [cfg.hiddenSize]);
  if (!cfg.tieWordEmbeddings) out.set('lm_head.weight', [cfg.vocabSize, cfg.hiddenSize]);
  return out;
}

/**
 * Whether AdamW's weight decay applies to a parameter: not to biases and norms (Hugging Face
 * `get_decay_parameter_names` matches `bias`, `layernorm`, `rmsnorm`, `norm` and `_norm`).
 */
export function takesWeightDecay(name: string): boolean {
  return !/bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)/.test(name.toLowerCase());
}
