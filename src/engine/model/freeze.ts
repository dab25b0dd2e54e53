/**
 * Freeze (partial-parameter) tuning as LLaMA-Factory sets it up: the last
 * `freeze_trainable_layers` decoder layers are trainable (negative: the first N), restricted to
 * `freeze_trainable_modules` (`all` or some of self_attn, mlp, input_layernorm,
 * post_attention_layernorm); embeddings, the final norm and lm_head stay frozen unless named in
 * `freeze_extra_modules` (embed_tokens, norm, lm_head).
 */
import { PtflowError } from '../../errors';
import type { LlamaConfig } from './config';
import { parameterShapes } from './names';

export interface FreezeOptions {
  /** `freeze_trainable_layers` (default 2). */
  trainableLayers?: number;
  /** `freeze_trainable_modules` (default "all"). */
  trainableModules?: string | string[];
  /** `freeze_extra_modules` (default none). */
  extraModules?: string | string[] | null;
}

const HIDDEN_MODULES = ['self_attn', 'mlp', 'input_layernorm', 'post_attention_layernorm'];
const NON_HIDDEN_MODULES = ['embed_tokens', 'norm', 'lm_head'];

function asList(v: string | string[] | null | undefined): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : v.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Names of the parameters that train under freeze tuning. */
export function freezeTrainableNames(cfg: LlamaConfig, opts: FreezeOptions = {}): Set<string> {
  const n = cfg.numHiddenLayers;
  const k = opts.trainableLayers ?? 2;
  if (!Number.isInteger(k) || k === 0) {
    throw new PtflowError(`key "freeze_trainable_layers": must be a non-zero integer, got ${k}`, 2);
  }
  const layers = new Set<number>();
  if (k > 0) for (let i = Math.max(0, n - k); i < n; i++) layers.add(i);
  else for (let i = 0; i < Math.min(-k, n); i++) layers.add(i);

  const modules = asList(opts.trainableModules ?? 'all');
  for (const m of modules) {
    if (m !== 'all' && !HIDDEN_MODULES.includes(m)) {
      throw new PtflowError(
        `key "freeze_trainable_modules": module "${m}" is not found (choose from all, ${HIDDEN_MODULES.join(', ')})`,
        2,
      );
    }
  }
  const extra = asList(opts.extraModules);
  for (const m of extra) {
    if (!NON_HIDDEN_MODULES.includes(m) || (m === 'lm_head' && cfg.tieWordEmbeddings)) {
      throw new PtflowError(
        `key "freeze_extra_modules": module "${m}" is not found (choose from ${NON_HIDDEN_MODULES.filter(
          (x) => x !== 'lm_head' || !cfg.tieWordEmbeddings,
        ).join(', ')})`,
        2,
      );
    }
  }
  const all = modules.includes('all');
  const out = new Set<string>();
  for (const name of parameterShapes(cfg).keys()) {
    const mm = /^model\.layers\.(\d+)\.([a-z_]+)\./.exec(name);
    if (mm) {
      if (layers.has(Number(mm[1])) && (all || modules.includes(mm[2]))) out.add(name);
    } else {
      const parts = name.split('.');
      if (extra.includes(parts[parts.length - 2])) out.add(name);
    }
  }
  return out;
}
