/**
 * What a resume accepts, through the real CLI (what it refuses is in bad-input-safety.e2e.test.ts):
 * settings the data order does not depend on may change, and `ignore_data_skip: true` resumes the
 * weights, optimizer and step after a data-order change with the data started afresh. Config files
 * saved as UTF-16 (with its byte-order mark) or UTF-8 with a BOM are read like plain UTF-8.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-resume-accepts-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 6);
const base = {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
  dataset: 'kjv', dataset_dir: data, cutoff_len: 16, per_device_train_batch_size: 2, learning_rate: 0.01,
  max_steps: 2, logging_steps: 1, save_steps: 1, seed: 3,
};
const good = path.join(dir, 'good');

function state(out: string, name = 'trainer_state.json'): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(out, name), 'utf8'));
}

beforeAll(async () => {
  // The first run reads its config from a UTF-16 file with a byte-order mark.
  const f = writeYaml(path.join(dir, 'good.yaml'), { ...base, output_dir: good });
  writeFileSync(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(readFileSync(f, 'utf8'), 'utf16le')]));
  const r = await runCli(['train', f]);
  if (r.code !== 0) throw new Error(r.stderr);
}, 200_000);

it('safe changes (schedules, learning rate, max_steps) resume from the checkpoint; the config may carry a UTF-8 BOM', async () => {
  const out = path.join(dir, 'safe');
  cpSync(good, out, { recursive: true });
  const f = writeYaml(path.join(dir, 'safe.yaml'), { ...base, output_dir: out, max_steps: 3, logging_steps: 3, save_steps: 3, learning_rate: 0.02 });
  writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(f)]));
  const r = await runCli(['train', f]);
  if (r.code !== 0) throw new Error(r.stderr);
  expect(r.stderr).toMatch(/Resuming training from \S+checkpoint-2\./);
  expect(r.stderr).not.toMatch(/ignore_data_skip/);
  expect(state(out).global_step).toBe(3);
}, 200_000);

it('ignore_data_skip: true resumes after a data-order change, says what changed, and records the new settings', async () => {
  const out = path.join(dir, 'ignore');
  cpSync(good, out, { recursive: true });
  const f = writeYaml(path.join(dir, 'ignore.yaml'), { ...base, output_dir: out, max_steps: 3, cutoff_len: 32, ignore_data_skip: true });
  const r = await runCli(['train', f]);
  if (r.code !== 0) throw new Error(r.stderr);
  expect(r.stderr).toMatch(/ignore_data_skip: resuming the weights, optimizer and step 2 of \S+checkpoint-2; the training data starts again from its beginning \(changed since the checkpoint: cutoff_len 16 → 32\)/);
  expect(state(out).global_step).toBe(3);
  const ps = state(path.join(out, 'checkpoint-3'), 'ptflow_state.json') as { step: number; cursor: { epoch: number; micro: number }; data_settings: { cutoff_len: number } };
  expect(ps.step).toBe(3);
  expect(ps.data_settings.cutoff_len).toBe(32);
  // the data started again: one micro-batch consumed since the resume
  expect(ps.cursor).toEqual({ epoch: 0, micro: 1 });
}, 200_000);
