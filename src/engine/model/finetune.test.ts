import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { tinyConfig } from '../gradcheck/fixtures';
import { freezeTrainableNames } from './freeze';
import { LlamaModel } from './llama';
import { LoraAdapters, resolveLoraTarget } from './lora';
import { parameterShapes, takesWeightDecay } from './names';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('parameter names and shapes follow LlamaForCausalLM', () => {
  const cfg = tinyConfig();
  const s = parameterShapes(cfg);
  expect(s.size).toBe(1 + 2 * 9 + 1 + 1);
  expect(s.get('model.layers.1.self_attn.q_proj.weight')).toEqual([8, 8]);
  expect(s.get('model.layers.1.self_attn.k_proj.weight')).toEqual([4, 8]);
  expect(s.get('model.layers.0.mlp.down_proj.weight')).toEqual([8, 12]);
  expect(s.get('lm_head.weight')).toEqual([11, 8]);
  expect(parameterShapes(tinyConfig({ tie_word_embeddings: true })).has('lm_head.weight')).toBe(false);
});

test('weight decay skips norms and biases', () => {
  expect(takesWeightDecay('model.layers.0.input_layernorm.weight')).toBe(false);
  expect(takesWeightDecay('model.norm.weight')).toBe(false);
  expect(takesWeightDecay('model.layers.0.mlp.up_proj.weight')).toBe(true);
  expect(takesWeightDecay('model.embed_tokens.weight')).toBe(true);
});

test('init: N(0, 0.02²) matrices, ones for norms, deterministic per seed', () => {
  const cfg = tinyConfig({ vocab_size: 500, hidden_size: 64, intermediate_size: 16, num_attention_heads: 4, num_key_value_heads: 4 });
  const a = LlamaModel.init(cfg, 1);
  const b = LlamaModel.init(cfg, 1);
  const c = LlamaModel.init(cfg, 2);
  const e = a.params.get('model.embed_tokens.weight') as tf.Variable;
  const v = Array.from(e.dataSync());
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  expect(Math.abs(mean)).toBeLessThan(0.001);
  expect(Math.abs(std - 0.02)).toBeLessThan(0.0005);
  expect(Array.from((b.params.get('model.embed_tokens.weight') as tf.Variable).dataSync())).toEqual(v);
  expect(Array.from((c.params.get('model.embed_tokens.weight') as tf.Variable).dataSync())).not.toEqual(v);
  expect(Array.from((a.params.get('model.norm.weight') as tf.Variable).dataSync())).toEqual(new Array(64).fill(1));
  [a, b, c].forEach((m) => m.dispose());
});

test('fromWeights names the missing or misshapen tensor', () => {
  const cfg = tinyConfig();
  const w = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, s] of parameterShapes(cfg)) w.set(n, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) });
  const before = tf.memory().numTensors;
  const bad = new Map(w);
  bad.set('model.norm.weight', { shape: [7], data: new Float32Array(7) });
  expect(() => LlamaModel.fromWeights(cfg, bad, 'm.safetensors')).toThrow(/m\.safetensors: tensor "model\.norm\.weight" has shape \[7\]/);
  const missing = new Map(w);
  missing.delete('lm_head.weight');
  expect(() => LlamaModel.fromWeights(cfg, missing, 'm')).toThrow(/tensor "lm_head\.weight" is missing/);
  const extra = new Map(w);
  extra.set('model.layers.9.mlp.up_proj.weight', { shape: [1], data: new Float32Array(1) });
  expect(() => LlamaModel.fromWeights(cfg, extra, 'm')).toThrow(/"model\.layers\.9\.mlp\.up_proj\.weight" is not a parameter/);
  expect(tf.memory().numTensors).toBe(before);
});

test('inputs are validated: token ids and lengths', () => {
  const cfg = tinyConfig();
  const m = LlamaModel.init(cfg, 0);
  expect(() => m.forward({ batchSize: 1, seqLen: 2, inputIds: Int32Array.from([1, 11]) })).toThrow(
    /"inputIds": token 11 at row 0, column 1 is outside the vocabulary/,
  );
  expect(() => m.forward({ batchSize: 2, seqLen: 2, inputIds: Int32Array.from([1, 2]) })).toThrow(/"inputIds": length 2, expected 2×2/);
  m.dispose();
});

test('freeze: last N layers, first N for negative N, modules and extra modules', () => {
  const cfg = tinyConfig({ num_hidden_layers: 4 });
  const layersOf = (s: Set<string>): number[] =>
    [...new Set([...s].map((n) => Number(/layers\.(\d+)/.exec(n)?.[1] ?? -1)))].sort();
  expect(layersOf(freezeTrainableNames(cfg))).toEqual([2, 3]);
  expect(layersOf(freezeTrainableNames(cfg, { trainableLayers: -1 }))).toEqual([0]);
  expect(layersOf(freezeTrainableNames(cfg, { trainableLayers: 10 }))).toEqual([0, 1, 2, 3]);
  const attn = freezeTrainableNames(cfg, { trainableLayers: 1, trainableModules: ['self_attn'] });
  expect([...attn].sort()).toEqual(['k_proj', 'o_proj', 'q_proj', 'v_proj'].map((m) => `model.layers.3.self_attn.${m}.weight`));
  const extra = freezeTrainableNames(cfg, { trainableLayers: 1, trainableModules: 'post_attention_layernorm', extraModules: 'embed_tokens,norm' });
  expect([...extra].sort()).toEqual(['model.embed_tokens.weight', 'model.layers.3.post_attention_layernorm.weight', 'model.norm.weight']);
  expect(() => freezeTrainableNames(cfg, { trainableModules: 'attn' })).toThrow(/key "freeze_trainable_modules": module "attn" is not found/);
  expect(() => freezeTrainableNames(cfg, { extraModules: 'lm_head_x' })).toThrow(/key "freeze_extra_modules"/);
});

test('LoRA: PEFT names and shapes, kaiming-uniform A, zero B, α/r scaling', () => {
  const cfg = tinyConfig({ hidden_size: 16, num_attention_heads: 2, num_key_value_heads: 1 });
  const l = new LoraAdapters(cfg, { rank: 4, target: ['k_proj', 'up_proj'] }, 7);
  expect(l.alpha).toBe(8);
  expect(l.scaling).toBe(2);
  expect([...l.params.keys()]).toEqual([
    'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight',
    'base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight',
    'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight',
    'base_model.model.model.layers.0.mlp.up_proj.lora_B.weight',
    'base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight',
    'base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight',
    'base_model.model.model.layers.1.mlp.up_proj.lora_A.weight',
    'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight',
  ]);
  const a = l.params.get('base_model.model.model.layers.0.mlp.up_proj.lora_A.weight') as tf.Variable;
  const b = l.params.get('base_model.model.model.layers.0.mlp.up_proj.lora_B.weight') as tf.Variable;
  expect(a.shape).toEqual([4, 16]);
  expect(b.shape).toEqual([12, 4]);
  const av = Array.from(a.dataSync());
  expect(Math.max(...av.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(16));
  expect(Math.max(...av.map(Math.abs))).toBeGreaterThan(0.5 / Math.sqrt(16));
  expect(Array.from(b.dataSync()).every((x) => x === 0)).toBe(true);
  l.dispose();
  expect(resolveLoraTarget('all')).toHaveLength(7);
  expect(resolveLoraTarget('q_proj, v_proj')).toEqual(['q_proj', 'v_proj']);
  expect(() => resolveLoraTarget('qkv')).toThrow(/key "lora_target": unknown module "qkv"/);
});

test('LoRA dropout changes training forward only, deterministically per seed', () => {
  const cfg = tinyConfig();
  const m = LlamaModel.init(cfg, 3);
  m.setFinetuning({ finetuningType: 'lora', rank: 2, dropout: 0.5 });
  for (const [n, v] of m.trainableParams()) if (n.endsWith('lora_B.weight')) v.assign(tf.onesLike(v));
  const x = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([1, 2, 3, 4]) };
  const read = (seed?: number): number[] => {
    const t = m.forward(x, { dropoutSeed: seed });
    const v = Array.from(t.dataSync());
    t.dispose();
    return v;
  };
  expect(read()).toEqual(read());
  expect(read(1)).toEqual(read(1));
  expect(read(1)).not.toEqual(read(2));
  expect(read(1)).not.toEqual(read());
  m.dispose();
});
