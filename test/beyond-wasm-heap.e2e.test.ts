/**
 * A run whose state exceeds what the wasm heap can hold, through the real `ptflow train` CLI. The
 * heap is capped with PTFLOW_WASM_HEAP_LIMIT so a tiny model stands for one beyond 4 GiB: its
 * weights, gradients and AdamW state (~8 MiB) exceed the 4 MiB cap. `backend: auto` then trains
 * on the cpu backend, with the losses of the uncapped wasm run; `backend: wasm` under the cap
 * stops before training with the estimate and the settings that fit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expectOneClearError } from './bad-input-helpers';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const root = tmpDir('ptflow-beyond-heap-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 6);
const CAP = { PTFLOW_WASM_HEAP_LIMIT: '4MiB' };

function config(name: string, backend: string): string {
  return writeYaml(path.join(root, `${name}.yaml`), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 16, output_dir: path.join(root, name), backend,
    per_device_train_batch_size: 2, learning_rate: 0.01, max_steps: 4, logging_steps: 1, save_steps: 100, seed: 3,
  });
}

const losses = (dir: string): number[] =>
  readFileSync(path.join(dir, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number })
    .filter((e) => e.loss !== undefined).map((e) => e.loss as number);

test('backend auto beyond the (capped) wasm heap: trains on cpu with the losses of the wasm run', async () => {
  const inHeap = await runCli(['train', config('wasm', 'wasm')]);
  expect(inHeap.code).toBe(0);
  const beyond = await runCli(['train', config('auto', 'auto')], { env: CAP });
  expect(beyond.code).toBe(0);
  const log = beyond.stdout + beyond.stderr;
  expect(log).toMatch(/wasm skipped \(one step needs an estimated [\d.]+ MiB, its heap holds 3\.6 MiB\)/);
  expect(log).toMatch(/backend: cpu/);
  const a = losses(path.join(root, 'wasm'));
  const b = losses(path.join(root, 'auto'));
  expect(a.length).toBe(4);
  expect(b.length).toBe(4);
  // Same model, data and seed; the backends differ in float32 summation order only.
  for (let i = 0; i < 4; i++) expect(Math.abs(b[i] - a[i])).toBeLessThan(1e-4 * Math.abs(a[i]));
  expect(a[3]).toBeLessThan(a[0]);
}, 300_000);

test('backend wasm under the cap: exit 2 before training, naming the heap and backend: cpu', async () => {
  const r = await runCli(['train', config('capped', 'wasm')], { env: CAP });
  expectOneClearError(r, 2, /needs an estimated [\d.]+ MiB .* but the wasm backend can hold 3\.6 MiB of tensors\. Settings that fit: .*backend: cpu/);
}, 120_000);
