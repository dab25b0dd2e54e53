import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadHfModelDir, saveHfModelDir } from './hf-model-dir';
import { assignWeights, tensorsToWeights } from './tf-weights';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-tfw-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('parameters → model dir → fresh parameters reproduces every value', async () => {
  const src = new Map<string, tf.Variable>([
    ['model.embed_tokens.weight', tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), true, 'tfw_a')],
    ['model.norm.weight', tf.variable(tf.tensor1d([0.5, 0.25]), true, 'tfw_b')],
  ]);
  await saveHfModelDir(dir, { configJson: { model_type: 'llama' }, weights: tensorsToWeights(src) });
  const dst = new Map<string, tf.Variable>([
    ['model.embed_tokens.weight', tf.variable(tf.zeros([3, 2]), true, 'tfw_c')],
    ['model.norm.weight', tf.variable(tf.zeros([2]), true, 'tfw_d')],
  ]);
  const { weights, weightsFile } = await loadHfModelDir(dir);
  const before = tf.memory().numTensors;
  assignWeights(dst, weights, weightsFile);
  expect(tf.memory().numTensors).toBe(before);
  expect(Array.from(dst.get('model.embed_tokens.weight')!.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  expect(Array.from(dst.get('model.norm.weight')!.dataSync())).toEqual([0.5, 0.25]);

  const wrong = new Map([['model.norm.weight', tf.variable(tf.zeros([3]), true, 'tfw_e')]]);
  expect(() => assignWeights(wrong, weights, weightsFile)).toThrow(/model\.safetensors: weights do not match the model[\s\S]*model\.norm\.weight: file has \[2\], model expects \[3\][\s\S]*unexpected \(1\): model\.embed_tokens\.weight/);
  [...src.values(), ...dst.values(), ...wrong.values()].forEach((v) => v.dispose());
});
