// The memory estimate on the cpu backend (where runs larger than the wasm heap train): within
// 20 % of the peak bytes of the buffers live tensors hold plus the freed ones the output pool
// keeps, over a training step (the second one, when AdamW's state exists), with and without
// checkpointing; the pool starts empty, as in a run.
import { clearCpuBufferPool, cpuBufferPoolLimit, setCpuBufferPoolLimit } from '../kernels/cpu-buffer-pool';
import { initBackend, shutdownBackend } from '../backend';
import { nativeOpsActive } from '../native';
import { estimateStepMemory, parameterCount } from './estimate';
import { tinyConfig } from '../gradcheck/fixtures';
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

const probe = { inUse: () => cpuTensorMemory().withPool, peak: () => cpuTensorMemory().peakWithPool, resetPeak: resetCpuTensorPeak };

describe.each(SHAPES)('%s', (...shape) => {
  test.each([false, true, 1])('checkpointing %s: estimate within 20 %% of the measured peak', (ck) => {
    clearCpuBufferPool();
    const ratio = estimateToPeakRatio(shape, ck, probe, nativeOpsActive(), cpuBufferPoolLimit());
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });
});

test('the pool is counted up to its limit: min(limit, trainable parameters × 4 bytes)', () => {
  const cfg = tinyConfig(SHAPES[1][1]);
  const P = parameterCount(cfg);
  const shape = { batchSize: 2, seqLen: 48, gradientAccumulationSteps: 1, gradientCheckpointing: false, trainableParams: P };
  const none = estimateStepMemory(cfg, shape);
  const big = estimateStepMemory(cfg, { ...shape, bufferPoolLimitBytes: 2 ** 30 });
  const capped = estimateStepMemory(cfg, { ...shape, bufferPoolLimitBytes: 1000 });
  expect(none.bufferPool).toBe(0);
  expect(big.bufferPool).toBe(4 * P);
  expect(big.total - none.total).toBe(4 * P);
  expect(capped.bufferPool).toBe(1000);
  // A lower limit is measured too: the pool then keeps less.
  const limit = cpuBufferPoolLimit();
  try {
    setCpuBufferPoolLimit(64 * 1024);
    clearCpuBufferPool();
    const ratio = estimateToPeakRatio(SHAPES[1], false, probe, nativeOpsActive(), cpuBufferPoolLimit());
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  } finally {
    setCpuBufferPoolLimit(limit);
  }
});
