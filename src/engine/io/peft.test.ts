import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPeftAdapter, savePeftAdapter } from './peft';
import { readSafetensors } from './safetensors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-peft-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
const adapterWeights = new Map([
  [A, { shape: [2, 4], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }],
  [B, { shape: [4, 2], data: new Float32Array(8) }],
]);

describe('savePeftAdapter', () => {
  test("writes adapter_config.json in PEFT's layout and adapter_model.safetensors", async () => {
    const out = path.join(dir, 'adapter');
    await savePeftAdapter(out, {
      adapterWeights, rank: 2, alpha: 16, dropout: 0.05, targetModules: ['v_proj', 'q_proj'], baseModelNameOrPath: 'models/tiny-llama',
    });
    const text = readFileSync(path.join(out, 'adapter_config.json'), 'utf8');
    const cfg = JSON.parse(text);
    expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort()); // sort_keys=True
    expect(text.endsWith('}')).toBe(true); // json.dumps: no trailing newline
    expect(cfg).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 16, lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'models/tiny-llama', bias: 'none',
      fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, use_rslora: false, use_dora: false,
      modules_to_save: null, revision: null, rank_pattern: {}, alpha_pattern: {},
    });
    const st = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect([...st.tensors.keys()]).toEqual([A, B]);

    const back = await loadPeftAdapter(out);
    expect(back.config.r).toBe(2);
    expect(back.weights.get(A)!.data).toEqual(adapterWeights.get(A)!.data);
  });

  test('rejects non-PEFT names and rank mismatches, naming the tensor', async () => {
    const base = { rank: 2, alpha: 16, dropout: 0, targetModules: ['q_proj'], baseModelNameOrPath: null };
    await expect(savePeftAdapter(path.join(dir, 'x'), { ...base, adapterWeights: new Map([['model.layers.0.q_proj.lora_A.weight', adapterWeights.get(A)!]]) }))
      .rejects.toThrow(/tensor model\.layers\.0\.q_proj\.lora_A\.weight is not a PEFT LoRA name/);
    await expect(savePeftAdapter(path.join(dir, 'y'), { ...base, rank: 3, adapterWeights }))
      .rejects.toThrow(/lora_A\.weight has shape \[2, 4\], expected rank 3 on dim 0/);
  });
});
