import { PtflowError } from '../../errors';
import { llamaConfigToJson, parseLlamaConfig } from './config';

// the keys of a real Hugging Face Llama config.json (TinyLlama-1.1B layout)
const hf = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.35.0',
  use_cache: true,
  vocab_size: 32000,
};

test('parses a Hugging Face config.json', () => {
  const c = parseLlamaConfig(hf, 'config.json');
  expect(c).toMatchObject({
    vocabSize: 32000,
    hiddenSize: 2048,
    intermediateSize: 5632,
    numHiddenLayers: 22,
    numAttentionHeads: 32,
    numKeyValueHeads: 4,
    headDim: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: null,
  });
});

test('defaults: kv heads = heads, head_dim = hidden / heads, eps 1e-6, theta 1e4', () => {
  const c = parseLlamaConfig(
    { vocab_size: 10, hidden_size: 12, intermediate_size: 20, num_hidden_layers: 1, num_attention_heads: 3 },
    'c.json',
  );
  expect([c.numKeyValueHeads, c.headDim, c.rmsNormEps, c.ropeTheta, c.initializerRange]).toEqual([3, 4, 1e-6, 10000, 0.02]);
  expect([c.tieWordEmbeddings, c.maxPositionEmbeddings]).toEqual([false, 2048]);
});

test.each([
  [{ rope_scaling: { type: 'linear', factor: 2 } }, /c\.json: key "rope_scaling"/],
  [{ hidden_act: 'gelu' }, /key "hidden_act": "gelu" is not supported/],
  [{ attention_bias: true }, /key "attention_bias"/],
  [{ mlp_bias: true }, /key "mlp_bias"/],
  [{ num_key_value_heads: 5 }, /key "num_key_value_heads": 5 does not divide/],
  [{ vocab_size: undefined }, /key "vocab_size"/],
  [{ hidden_size: '2048' }, /key "hidden_size"/],
  [{ model_type: 'mistral' }, /key "model_type"/],
])('rejects %p', (over, msg) => {
  expect(() => parseLlamaConfig({ ...hf, ...over }, 'c.json')).toThrow(msg);
  expect(() => parseLlamaConfig({ ...hf, ...over }, 'c.json')).toThrow(PtflowError);
});

test('writes back HF keys, keeping unknown ones', () => {
  const out = llamaConfigToJson(parseLlamaConfig(hf, 'c.json'));
  expect(out).toMatchObject({ ...hf, torch_dtype: 'float32', head_dim: 64, pad_token_id: null });
  expect(out.use_cache).toBe(true);
  expect(out.transformers_version).toBe('4.35.0');
  expect(parseLlamaConfig(out, 'again')).toEqual({ ...parseLlamaConfig(hf, 'c.json'), raw: out });
});
