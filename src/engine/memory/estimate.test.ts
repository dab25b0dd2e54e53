// The memory estimate against the wasm heap's measured peak over a training step
// (the second one, when AdamW's state exists), with and without checkpointing and with the bottom
// layer alone checkpointed, on small shapes.
import { initBackend, shutdownBackend } from '../backend';
import { nativeOpsActive } from '../native';
import { resetWasmHeapPeak, wasmHeapUsage } from './out-of-memory';
import { estimateToPeakRatio, type PeakShape } from './step-peak-check';

beforeAll(async () => {
  expect((await initBackend('wasm', { threads: 1 })).name).toBe('wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

const SHAPES: PeakShape[] = [
  // name, config, batch, seq, gradient accumulation
  ['vocab-heavy', { vocab_size: 512, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 32, 1],
  ['deep', { vocab_size: 64, hidden_size: 48, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 48, 1],
  ['long', { vocab_size: 128, hidden_size: 32, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 1 }, 1, 128, 2],
];

// Every tensor of the wasm backend lives in its heap: weights, AdamW state, the step's tensors.
const probe = { inUse: () => wasmHeapUsage().inUse, peak: () => wasmHeapUsage().peak, resetPeak: resetWasmHeapPeak };

describe.each(SHAPES)('%s', (...shape) => {
  // 1: the bottom layer only (the others keep their activations).
  test.each([false, true, 1])('checkpointing %s: estimate within 20 %% of the measured peak', (ck) => {
    const ratio = estimateToPeakRatio(shape, ck, probe, nativeOpsActive());
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });
});
