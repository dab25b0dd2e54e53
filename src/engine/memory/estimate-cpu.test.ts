// The memory estimate on the cpu backend (where runs larger than the wasm heap train): within
// 20 % of the peak bytes of the buffers live tensors hold over a training step (the second one,
// when AdamW's state exists), with and without checkpointing.
import { initBackend, shutdownBackend } from '../backend';
import type { MicroBatch } from '../batch';
import { randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { LlamaModel } from '../model/llama';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { estimateStepMemory, parameterCount } from './estimate';
import { cpuTensorMemory, resetCpuTensorPeak, trackCpuTensorMemory } from './tensor-peak';

beforeAll(async () => {
  expect((await initBackend('cpu')).name).toBe('cpu');
  trackCpuTensorMemory();
});
afterAll(async () => {
  await shutdownBackend();
});

function batch(B: number, T: number, V: number): MicroBatch {
  const ids = new Int32Array(B * T).map((_, i) => (i * 7 + 3) % V);
  return { batchSize: B, seqLen: T, inputIds: ids, labels: ids.slice(), attentionMask: new Int32Array(B * T).fill(1) } as MicroBatch;
}

const SHAPES: Array<[string, Record<string, unknown>, number, number, number]> = [
  ['vocab-heavy', { vocab_size: 512, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 32, 1],
  ['deep', { vocab_size: 64, hidden_size: 48, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 48, 2],
];

describe.each(SHAPES)('%s', (name, over, B, T, accum) => {
  test.each([false, true])('checkpointing %s: estimate within 20 %% of the measured peak', (ck) => {
    const cfg = tinyConfig(over);
    const base = cpuTensorMemory().inUse;
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 5));
    model.setGradientCheckpointing(ck);
    const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
    const ts = new TrainStep(model, opt, () => 1e-3);
    const window = Array.from({ length: accum }, () => batch(B, T, cfg.vocabSize));
    ts.step(window);
    resetCpuTensorPeak();
    ts.step(window);
    const est = estimateStepMemory(cfg, {
      batchSize: B, seqLen: T, gradientAccumulationSteps: accum, gradientCheckpointing: ck, trainableParams: parameterCount(cfg),
    });
    const measured = cpuTensorMemory().peak - base;
    const ratio = est.total / measured;
    if (process.env['PTFLOW_ESTIMATE_VERBOSE']) console.log(`cpu ${name} ck=${ck}: estimate ${est.total} measured ${measured} ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
    model.dispose();
    opt.dispose();
  });
});
