/**
 * Which parameters get weight decay: Hugging Face Trainer's rule (`get_decay_parameter_names`,
 * transformers 4.57): none for biases and normalisation weights, matched on the lower-cased
 * parameter name by the patterns `bias`, `layernorm`, `rmsnorm`, `(^|.)norm($|.)`, `_norm($|.)`.
 * For a Llama model that excludes `input_layernorm`, `post_attention_layernorm` and `model.norm`.
 */
const NO_DECAY_PATTERNS = [/bias/, /layernorm/, /rmsnorm/, /(?:^|\.)norm(?:$|\.)/, /_norm(?:$|\.)/];

/** True when HF's Trainer would apply weight decay to the parameter called `name`. */
export function hfDecayFilter(name: string): boolean {
  const lower = name.toLowerCase();
  return !NO_DECAY_PATTERNS.some((p) => p.test(lower));
}
