// PTFLOW_WASM_HEAP_LIMIT: parsed with units, capped at the 4 GiB maximum, enforced by the
// guarded malloc (a training step whose state exceeds the cap fails with OutOfMemoryError, and
// the heap stays usable), and seen by the memory budget (the wasm backend's limit shrinks).
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { initBackend, shutdownBackend } from '../backend';
import { randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { LlamaModel } from '../model/llama';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { defaultLimits } from './budget';
import { estimateStepMemory, parameterCount } from './estimate';
import { WASM_HEAP_LIMIT_ENV, WASM_HEAP_MAX_BYTES, parseBytes, wasmHeapLimitBytes } from './heap-limit';
import { OutOfMemoryError, wasmHeapUsage } from './out-of-memory';

const MiB = 1024 ** 2;
const saved = process.env[WASM_HEAP_LIMIT_ENV];

afterEach(async () => {
  if (saved === undefined) delete process.env[WASM_HEAP_LIMIT_ENV];
  else process.env[WASM_HEAP_LIMIT_ENV] = saved;
  await shutdownBackend();
});

test('byte counts: plain and with units; bad ones name the variable', () => {
  expect(parseBytes('1048576', 'X')).toBe(MiB);
  expect(parseBytes('64MiB', 'X')).toBe(64 * MiB);
  expect(parseBytes('1.5 GiB', 'X')).toBe(1.5 * 1024 * MiB);
  expect(parseBytes('512k', 'X')).toBe(512 * 1024);
  expect(() => parseBytes('64 MB of heap', WASM_HEAP_LIMIT_ENV)).toThrow(/PTFLOW_WASM_HEAP_LIMIT: expected a byte count .* got "64 MB of heap"/);
  expect(() => parseBytes('0', 'X')).toThrow(PtflowError);
  expect(wasmHeapLimitBytes({})).toBe(WASM_HEAP_MAX_BYTES);
  expect(wasmHeapLimitBytes({ [WASM_HEAP_LIMIT_ENV]: '8GiB' })).toBe(WASM_HEAP_MAX_BYTES);
  expect(wasmHeapLimitBytes({ [WASM_HEAP_LIMIT_ENV]: '3MiB' })).toBe(3 * MiB);
});

test('the budget sees the cap: the wasm backend may plan 90 % of it', () => {
  process.env[WASM_HEAP_LIMIT_ENV] = '10MiB';
  expect(defaultLimits('wasm').backendBytes).toBe(Math.floor(10 * MiB * 0.9));
  expect(defaultLimits('cpu').backendBytes).toBe(Infinity);
  delete process.env[WASM_HEAP_LIMIT_ENV];
  expect(defaultLimits('wasm').backendBytes).toBe(Math.floor(WASM_HEAP_MAX_BYTES * 0.9));
});

test('a training step whose state exceeds the capped heap: OutOfMemoryError, and the heap stays usable', async () => {
  // AdamW's state alone (2 floats per parameter) is larger than the cap; the weights fit.
  const cfg = tinyConfig({ vocab_size: 4096, hidden_size: 32, intermediate_size: 64 });
  const P = parameterCount(cfg);
  const est = estimateStepMemory(cfg, { batchSize: 1, seqLen: 8, gradientAccumulationSteps: 1, gradientCheckpointing: false, trainableParams: P });
  const cap = Math.floor(2.5 * P * 4);
  expect(est.weights + est.optimizer).toBeGreaterThan(cap);
  process.env[WASM_HEAP_LIMIT_ENV] = String(cap);
  expect((await initBackend('wasm', { threads: 1 })).name).toBe('wasm');
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 2));
  const opt = new AdamW(model.trainableParams(), {});
  const ts = new TrainStep(model, opt, () => 0.01);
  const ids = Int32Array.from([3, 7, 1, 9, 4, 2, 10, 5]);
  const b = { batchSize: 1, seqLen: 8, inputIds: ids, labels: ids.slice(), attentionMask: new Int32Array(8).fill(1) };
  let err: unknown;
  try {
    ts.step([b]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OutOfMemoryError);
  expect(String((err as Error).message)).toMatch(/at most [\d.]+ (KiB|MiB) by PTFLOW_WASM_HEAP_LIMIT\) cannot hold another/);
  expect(wasmHeapUsage().inUse).toBeLessThanOrEqual(cap);
  // The allocation was refused before anything was written: small tensors still work.
  expect(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync())).toEqual([2, 3]);
  model.dispose();
  opt.dispose();
  // A fresh start without the variable lifts the cap.
  delete process.env[WASM_HEAP_LIMIT_ENV];
  await shutdownBackend();
  await initBackend('wasm', { threads: 1 });
  const big = tf.zeros([cap]);
  expect(big.size).toBe(cap);
  big.dispose();
});
