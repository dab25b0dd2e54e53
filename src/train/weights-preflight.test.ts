import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PtflowError } from '../errors';
import { writeSafetensors, type WritableTensor } from '../engine/io/safetensors';
import { parseLlamaConfig } from '../engine/model/config';
import { checkBaseWeights } from './weights-preflight';

// vocab 8, hidden 4, intermediate 6, 1 layer, 2 heads of 2, 1 kv head, tied embeddings.
const cfg = parseLlamaConfig(
  { vocab_size: 8, hidden_size: 4, intermediate_size: 6, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: true },
  'config.json',
);
// The shapes written out by hand (HF layout: linear weights are [out, in]).
const SHAPES: Record<string, number[]> = {
  'model.embed_tokens.weight': [8, 4],
  'model.layers.0.self_attn.q_proj.weight': [4, 4],
  'model.layers.0.self_attn.k_proj.weight': [2, 4],
  'model.layers.0.self_attn.v_proj.weight': [2, 4],
  'model.layers.0.self_attn.o_proj.weight': [4, 4],
  'model.layers.0.mlp.gate_proj.weight': [6, 4],
  'model.layers.0.mlp.up_proj.weight': [6, 4],
  'model.layers.0.mlp.down_proj.weight': [4, 6],
  'model.layers.0.input_layernorm.weight': [4],
  'model.layers.0.post_attention_layernorm.weight': [4],
  'model.norm.weight': [4],
};

function tensors(edit: (t: Map<string, WritableTensor>) => void = () => {}): Map<string, WritableTensor> {
  const t = new Map<string, WritableTensor>();
  for (const [name, shape] of Object.entries(SHAPES)) t.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  edit(t);
  return t;
}

async function check(edit?: (t: Map<string, WritableTensor>) => void): Promise<{ dir: string; error: PtflowError | null }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-preflight-'));
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors(edit));
  const error = await checkBaseWeights(dir, cfg).then(() => null, (e: PtflowError) => e);
  return { dir, error };
}

describe('checkBaseWeights', () => {
  it('accepts exactly the parameters of the config, plus a tied lm_head and rotary inv_freq', async () => {
    expect((await check()).error).toBeNull();
    const extra = await check((t) => {
      t.set('lm_head.weight', { shape: [8, 4], data: new Float32Array(32) });
      t.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [1], data: new Float32Array(1) });
    });
    expect(extra.error).toBeNull();
  });

  it.each([
    ['a missing tensor', (t: Map<string, WritableTensor>) => t.delete('model.norm.weight'), /model\.safetensors: tensor "model\.norm\.weight" is missing \(expected shape \[4\]\)/],
    [
      'a transposed tensor',
      (t: Map<string, WritableTensor>) => t.set('model.layers.0.mlp.down_proj.weight', { shape: [6, 4], data: new Float32Array(24) }),
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.down_proj\.weight" has shape \[6,4\], expected \[4,6\]/,
    ],
    [
      'an integer tensor',
      (t: Map<string, WritableTensor>) => t.set('model.norm.weight', { shape: [4], data: new Int32Array(4) }),
      /tensor "model\.norm\.weight" has dtype I32; a floating-point tensor was expected/,
    ],
    [
      'a tensor the config does not have',
      (t: Map<string, WritableTensor>) => t.set('model.layers.1.input_layernorm.weight', { shape: [4], data: new Float32Array(4) }),
      /tensor "model\.layers\.1\.input_layernorm\.weight" is not a parameter of this Llama config/,
    ],
  ])('refuses %s, naming the file and the tensor, as a usage error', async (_what, edit, re) => {
    const { error } = await check((t) => void edit(t));
    expect(error).toBeInstanceOf(PtflowError);
    expect(error?.message).toMatch(re);
    expect(error?.exitCode).toBe(2);
  });

  it('refuses a truncated file, naming the tensor whose bytes are cut off', async () => {
    const { dir } = await check();
    const file = path.join(dir, 'model.safetensors');
    // Tensors are stored in name order; the last one is model.norm.weight (16 bytes).
    truncateSync(file, readFileSync(file).length - 8);
    const e = await checkBaseWeights(dir, cfg).then(() => null, (err: PtflowError) => err);
    expect(e?.message).toMatch(/model\.safetensors: tensor model\.norm\.weight: data_offsets .* out of range/);
    expect(e?.exitCode).toBe(2);
  });

  it('reads the shards an index names, and says when there are no weights at all', async () => {
    const { dir } = await check();
    const all = tensors();
    const names = [...all.keys()];
    const a = new Map(names.slice(0, 5).map((n) => [n, all.get(n) as WritableTensor]));
    const b = new Map(names.slice(5).map((n) => [n, all.get(n) as WritableTensor]));
    rmSync(path.join(dir, 'model.safetensors'));
    await writeSafetensors(path.join(dir, 'a.safetensors'), a);
    await writeSafetensors(path.join(dir, 'b.safetensors'), b);
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < 5 ? 'a.safetensors' : 'b.safetensors']));
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    await expect(checkBaseWeights(dir, cfg)).resolves.toBeUndefined();
    rmSync(path.join(dir, 'b.safetensors'));
    await expect(checkBaseWeights(dir, cfg)).rejects.toThrow(/cannot open .*b\.safetensors/);
    rmSync(path.join(dir, 'model.safetensors.index.json'));
    await expect(checkBaseWeights(dir, cfg)).rejects.toThrow(/has no model\.safetensors or model\.safetensors\.index\.json \(set train_from_scratch: true/);
  });
});
