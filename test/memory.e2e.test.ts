/**
 * Memory through the real `ptflow train` CLI: a run whose step cannot fit stops before training
 * with one clear error (the estimate and settings that fit) and writes no checkpoint; the
 * gradient-checkpointing keys reach the trainer and give the same losses as without; unset under
 * a small wasm heap, only the bottom layers the heap needs are checkpointed.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expectOneClearError } from './bad-input-helpers';
import { WASM_USABLE_SHARE } from '../src/engine/memory/budget';
import { estimateStepMemory, parameterCount } from '../src/engine/memory/estimate';
import { parseLlamaConfig } from '../src/engine/model/config';
import { loadNativeAddon } from '../src/engine/native/addon';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const root = tmpDir('ptflow-memory-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 6);

function config(name: string, extra: Record<string, unknown>): string {
  return writeYaml(path.join(root, `${name}.yaml`), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 16, output_dir: path.join(root, name),
    per_device_train_batch_size: 2, learning_rate: 0.01, max_steps: 3, logging_steps: 1, save_steps: 2, seed: 3, ...extra,
  });
}

const losses = (dir: string): number[] =>
  readFileSync(path.join(dir, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number })
    .filter((e) => e.loss !== undefined).map((e) => e.loss as number);

test('a step larger than the machine: exit 2 with the estimate and what fits, no checkpoint', async () => {
  const r = await runCli(['train', config('huge', { per_device_train_batch_size: 1000000 })]);
  expectOneClearError(r, 2, /memory: one training step \(batch 1000000 × cutoff_len 16, gradient checkpointing on\) needs an estimated [\d.]+ GiB .* but this machine has .* Settings that fit: per_device_train_batch_size: \d+ with gradient_accumulation_steps: \d+/);
  expect(existsSync(path.join(root, 'huge', 'checkpoint-2'))).toBe(false);
}, 120_000);

/** `ptflow train yaml` succeeds and logs `line`. */
async function trainLogging(yaml: string, line: string, env: Record<string, string> = {}): Promise<void> {
  const r = await runCli(['train', yaml], { env });
  expect(r.code).toBe(0);
  expect(r.stdout + r.stderr).toContain(line);
}

test('gradient_checkpointing on and off: the same losses; disable_gradient_checkpointing wins', async () => {
  await trainLogging(config('on', { gradient_checkpointing: true }), 'gradient checkpointing on (gradient_checkpointing: true)');
  await trainLogging(config('off', { gradient_checkpointing: true, disable_gradient_checkpointing: true }), 'gradient checkpointing off (disable_gradient_checkpointing: true)');
  const a = losses(path.join(root, 'on'));
  expect(a.length).toBe(3);
  expect(a).toEqual(losses(path.join(root, 'off')));
}, 240_000);

test('gradient_checkpointing unset under a small wasm heap: the bottom layers only, as few as fit, and the same losses', async () => {
  // A model whose activations weigh next to its weights: 4 layers at 4 × 128 tokens.
  const over = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 };
  const deep = tinyModelDir(path.join(root, 'deep'), over);
  const cfg = parseLlamaConfig(JSON.parse(readFileSync(path.join(deep, 'config.json'), 'utf8')) as Record<string, unknown>, 'deep');
  const est = (k: number) => estimateStepMemory(cfg, {
    batchSize: 4, seqLen: 128, gradientAccumulationSteps: 1, gradientCheckpointing: k > 0, checkpointedLayers: k,
    trainableParams: parameterCount(cfg), fusedKernels: loadNativeAddon().ok,
  }).total;
  expect(est(1)).toBeGreaterThan(est(2));
  // A heap whose planned share (90 %) holds the step with 2 layers checkpointed, not with 1.
  const heap = String(Math.ceil(est(2) / WASM_USABLE_SHARE) + 1);
  const yaml = (name: string, extra: Record<string, unknown>) =>
    config(name, { model_name_or_path: deep, backend: 'wasm', cutoff_len: 128, per_device_train_batch_size: 4, ...extra });
  await trainLogging(yaml('partial', {}), 'gradient checkpointing on for the bottom 2 of 4 layers (the step needs', { PTFLOW_WASM_HEAP_LIMIT: heap });
  // The same run with a full heap and checkpointing off: bit-identical losses.
  await trainLogging(yaml('partial-off', { gradient_checkpointing: false }), 'gradient checkpointing off (gradient_checkpointing: false)');
  const a = losses(path.join(root, 'partial'));
  expect(a.length).toBe(3);
  expect(a).toEqual(losses(path.join(root, 'partial-off')));
}, 240_000);
