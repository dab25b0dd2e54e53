import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PtflowError } from '../../errors';
import { TRANSFORMERS_VERSION, checkWeights, generationConfigFromModelConfig, loadHfModelDir, saveHfModelDir } from './hf-model-dir';
import { readSafetensors } from './safetensors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-hf-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 4,
  vocab_size: 3,
  num_hidden_layers: 1,
  bos_token_id: 1,
  eos_token_id: 2,
  tie_word_embeddings: false,
};
const weights = new Map([
  ['model.embed_tokens.weight', { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 8) }],
  ['model.norm.weight', { shape: [4], data: Float32Array.from([1, 1, 1, 1]) }],
  ['lm_head.weight', { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => -i) }],
]);

describe('saveHfModelDir / loadHfModelDir', () => {
  test('writes the HF layout and loads it back', async () => {
    const tok = path.join(dir, 'tok');
    mkdirSync(tok);
    writeFileSync(path.join(tok, 'tokenizer.json'), '{"model":{}}');
    writeFileSync(path.join(tok, 'tokenizer_config.json'), '{"bos_token":"<s>"}');
    const out = path.join(dir, 'out');
    const written = await saveHfModelDir(out, { configJson: config, weights, tokenizerFilesFrom: tok });
    expect(written).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(out).sort()).toEqual([...written].sort()); // no temp files left

    const cfgText = readFileSync(path.join(out, 'config.json'), 'utf8');
    expect(cfgText.startsWith('{\n  "architectures": [\n    "LlamaForCausalLM"\n  ],\n  "bos_token_id": 1,')).toBe(true);
    expect(cfgText.endsWith(`  "transformers_version": "${TRANSFORMERS_VERSION}",\n  "vocab_size": 3\n}\n`)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'generation_config.json'), 'utf8'))).toEqual({
      _from_model_config: true, bos_token_id: 1, eos_token_id: 2, transformers_version: TRANSFORMERS_VERSION,
    });
    expect(readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8')).toBe('{"bos_token":"<s>"}');
    expect((await readSafetensors(path.join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' });

    const back = await loadHfModelDir(out);
    expect(back.configJson.hidden_size).toBe(4);
    expect(back.weightsFile).toBe(path.join(out, 'model.safetensors'));
    expect(back.weights.get('lm_head.weight')).toEqual(weights.get('lm_head.weight'));
    expect(back.weights.get('model.embed_tokens.weight')!.data[5]).toBe(5 / 8);
  });

  test('above maxShardBytes the weights are sharded with an index, and load the same', async () => {
    const out = path.join(dir, 'sharded');
    const written = await saveHfModelDir(out, { configJson: config, weights, maxShardBytes: 48 });
    expect(written).toContain('model.safetensors.index.json');
    expect(written).not.toContain('model.safetensors');
    const back = await loadHfModelDir(out);
    expect(back.weightsFile).toMatch(/model\.safetensors\.index\.json$/);
    expect([...back.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    expect(back.weights.get('model.norm.weight')!.data).toEqual(weights.get('model.norm.weight')!.data);
  });

  test('a directory without weights or with a broken config names the file', async () => {
    const d = path.join(dir, 'empty');
    mkdirSync(d);
    writeFileSync(path.join(d, 'config.json'), '{"a": 1}');
    await expect(loadHfModelDir(d)).rejects.toThrow(/empty: no model\.safetensors or model\.safetensors\.index\.json/);
    writeFileSync(path.join(d, 'config.json'), '{"a": ');
    await expect(loadHfModelDir(d)).rejects.toThrow(/empty\/config\.json:1:7: not valid JSON \(unexpected end of the file\)/);
  });

  test('generation config keeps pad_token_id when the model config has one', () => {
    expect(generationConfigFromModelConfig({ bos_token_id: 1, eos_token_id: [2, 3], pad_token_id: 0 })).toEqual({
      _from_model_config: true, bos_token_id: 1, eos_token_id: [2, 3], pad_token_id: 0, transformers_version: TRANSFORMERS_VERSION,
    });
  });
});

describe('checkWeights', () => {
  const expected = new Map<string, number[]>([
    ['model.embed_tokens.weight', [3, 4]],
    ['model.norm.weight', [4]],
    ['lm_head.weight', [4, 3]],
    ['model.layers.0.mlp.up_proj.weight', [8, 4]],
  ]);
  test('names missing, unexpected and mis-shaped tensors', () => {
    const w = new Map([...weights, ['model.extra', { shape: [1], data: new Float32Array(1) }]]);
    let err: unknown;
    try {
      checkWeights(w, expected, '/m/model.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PtflowError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^\/m\/model\.safetensors: weights do not match the model/);
    expect(msg).toMatch(/missing \(1\): model\.layers\.0\.mlp\.up_proj\.weight \[8, 4\]/);
    expect(msg).toMatch(/shape mismatch \(1\): lm_head\.weight: file has \[3, 4\], model expects \[4, 3\]/);
    expect(msg).toMatch(/unexpected \(1\): model\.extra/);
  });
  test('passes silently when everything matches', () => {
    expect(() => checkWeights(weights, new Map([...weights].map(([n, t]) => [n, t.shape])), 'f')).not.toThrow();
  });
});
