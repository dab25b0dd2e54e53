// A wasm heap that cannot grow makes the allocation throw (it used to return offset 0, the
// tensor overwrote malloc's state and the next step spun forever), and the training step names
// itself in the error. The heap is filled with bare mallocs (address space, no memory touched).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../backend';
import { paddedBatch, randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { LlamaModel } from '../model/llama';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { asWasmBackend } from '../wasm/internals';
import { OutOfMemoryError, WASM_HEAP_MAX_BYTES, asOutOfMemory, guardWasmAllocations } from './out-of-memory';

const GiB = 1024 ** 3;

beforeAll(async () => {
  expect((await initBackend('wasm', { threads: 1 })).name).toBe('wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

/** Take heap address space until less than `leftBytes` remains; returns the blocks to free. */
function fillHeap(leftBytes: number): number[] {
  const wasm = asWasmBackend(tf.backend()).wasm;
  const blocks: number[] = [];
  let size = GiB;
  while (size >= 16 * 1024 * 1024) {
    try {
      blocks.push(wasm._malloc(size));
    } catch (e) {
      expect(e).toBeInstanceOf(OutOfMemoryError);
      size /= 2;
    }
    if (size <= leftBytes) break;
  }
  return blocks;
}

test('a tensor the full heap cannot hold is an OutOfMemoryError, and the heap stays usable', () => {
  const wasm = asWasmBackend(tf.backend()).wasm;
  const small = tf.tensor1d([1, 2, 3]);
  const blocks = fillHeap(64 * 1024 * 1024);
  try {
    const heap = (wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer).byteLength;
    expect(heap).toBeGreaterThan(WASM_HEAP_MAX_BYTES - 256 * 1024 * 1024);
    let err: unknown;
    try {
      tf.zeros([256 * 1024 * 1024]); // 1 GiB
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).requestedBytes).toBe(GiB);
    expect((err as Error).message).toMatch(/wasm heap \(\d\.\d\d GiB in use, at most 4\.00 GiB\) cannot hold another 1\.00 GiB/);
    // Nothing was written over the heap: existing tensors are intact and new small ones work.
    expect(Array.from(tf.add(small, 1).dataSync())).toEqual([2, 3, 4]);
  } finally {
    for (const p of blocks) wasm._free(p);
    small.dispose();
  }
});

test('an allocation failing inside a training step names the step (and the micro-batch when in one)', () => {
  const cfg = tinyConfig();
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 3));
  const opt = new AdamW(model.trainableParams(), {});
  const ts = new TrainStep(model, opt, () => 0.01, { memoryHint: () => 'estimated need: 1 GiB' });
  ts.step([paddedBatch()]);
  const wasm = asWasmBackend(tf.backend()).wasm;
  // Leave less free heap than one step's activations need.
  const blocks = fillHeap(32 * 1024);
  // Then the remaining crumbs, down to the smallest blocks (the tiny model's tensors are small).
  const filler: number[] = [];
  for (const size of [16 * 1024, 1024, 64, 8]) {
    try {
      for (let i = 0; i < 100_000; i++) filler.push(wasm._malloc(size));
    } catch (e) {
      expect(e).toBeInstanceOf(OutOfMemoryError);
    }
  }
  try {
    expect(() => ts.step([paddedBatch()])).toThrow(
      /^optimizer step 2, (micro-batch 1 of 1 \(\[2, 5\] tokens\), )?forward\/backward: out of memory: the wasm heap .* cannot hold another .*\. estimated need: 1 GiB$/,
    );
  } finally {
    for (const p of [...blocks, ...filler]) wasm._free(p);
    model.dispose();
    opt.dispose();
  }
});

test('guard: a malloc that returns 0 throws; V8 allocation failures are recognised', () => {
  const heap = new Uint8Array(1024);
  const mod = { HEAPU8: heap, _malloc: (n: number): number => (n > 512 ? 0 : 8) };
  guardWasmAllocations(mod);
  guardWasmAllocations(mod); // idempotent: one wrapper
  expect(mod._malloc(16)).toBe(8);
  expect(() => mod._malloc(4096)).toThrow(OutOfMemoryError);
  expect(asOutOfMemory(new RangeError('Array buffer allocation failed'))).toBeInstanceOf(OutOfMemoryError);
  expect(asOutOfMemory(new RangeError('Invalid array length'))).toBeNull();
  expect(asOutOfMemory(new Error('x'))).toBeNull();
});
