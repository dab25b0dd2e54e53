import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../io/safetensors';
import { AdamW } from './adamw';
import { restoreAdamWState, saveAdamWState } from './adamw-state';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-opt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('optimizer state survives a safetensors file and resumes bit-identically', async () => {
  const params = new Map<string, tf.Variable>([
    ['model.layers.0.mlp.down_proj.weight', tf.variable(tf.tensor2d([[0.5, -0.5], [1, 2]]), true, 'ost_a')],
    ['model.norm.weight', tf.variable(tf.tensor1d([1, 1]), true, 'ost_b')],
  ]);
  const opt = new AdamW(params, { weightDecay: 0.1 });
  const grads = new Map<string, tf.Tensor>([
    ['model.layers.0.mlp.down_proj.weight', tf.tensor2d([[0.1, 0.2], [-0.3, 0.4]])],
    ['model.norm.weight', tf.tensor1d([0.01, -0.02])],
  ]);
  opt.step(grads, 1e-3);
  opt.step(new Map([['model.layers.0.mlp.down_proj.weight', grads.get('model.layers.0.mlp.down_proj.weight')!]]), 1e-3);
  const file = path.join(dir, 'optimizer.safetensors');
  await saveAdamWState(file, opt.exportState());

  const raw = await readSafetensors(file);
  expect(raw.metadata).toEqual({
    format: 'ptflow.adamw.v1', step: '2', param_steps: '{"model.layers.0.mlp.down_proj.weight":2,"model.norm.weight":1}',
  });
  expect(raw.tensors.get('model.norm.weight.exp_avg')!.shape).toEqual([2]);
  // After one step m = (1 − β1)·g = 0.1·g.
  expect(Array.from(raw.tensors.get('model.norm.weight.exp_avg')!.data as Float32Array)).toEqual([Math.fround(0.1 * 0.01), Math.fround(0.1 * -0.02)].map((x) => expect.closeTo(x, 9)));

  const copies = new Map([...params].map(([n, v], i) => [n, tf.variable(v.clone(), true, `ost_c${i}`)]));
  const opt2 = new AdamW(copies, { weightDecay: 0.1 });
  await restoreAdamWState(file, opt2);
  opt.step(grads, 2e-3);
  opt2.step(grads, 2e-3);
  for (const n of params.keys()) expect(Array.from(copies.get(n)!.dataSync())).toEqual(Array.from(params.get(n)!.dataSync()));
  opt.dispose();
  opt2.dispose();
  grads.forEach((g) => g.dispose());
  [...params.values(), ...copies.values()].forEach((v) => v.dispose());
});
