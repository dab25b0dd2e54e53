// The memory estimate on the cpu backend (where runs larger than the wasm heap train): within
// 20 % of the peak bytes of the buffers live tensors hold over a training step (the second one,
// when AdamW's state exists), with and without checkpointing.
import { initBackend, shutdownBackend } from '../backend';
import { nativeOpsActive } from '../native';
import { estimateToPeakRatio, type PeakShape } from './step-peak-check';
import { cpuTensorMemory, resetCpuTensorPeak, trackCpuTensorMemory } from './tensor-peak';

beforeAll(async () => {
  expect((await initBackend('cpu')).name).toBe('cpu');
  trackCpuTensorMemory();
});
afterAll(async () => {
  await shutdownBackend();
});

const SHAPES: PeakShape[] = [
  ['vocab-heavy', { vocab_size: 512, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 32, 1],
  ['deep', { vocab_size: 64, hidden_size: 48, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 48, 2],
];

const probe = { inUse: () => cpuTensorMemory().inUse, peak: () => cpuTensorMemory().peak, resetPeak: resetCpuTensorPeak };

describe.each(SHAPES)('%s', (...shape) => {
  test.each([false, true])('checkpointing %s: estimate within 20 %% of the measured peak', (ck) => {
    const ratio = estimateToPeakRatio(shape, ck, probe, nativeOpsActive());
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });
});
