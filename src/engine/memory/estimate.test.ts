// The memory estimate against the peak tensor bytes tf.profile measures over a training step
// (the second one, when AdamW's state exists), with and without checkpointing, on small shapes.
import { initBackend, shutdownBackend } from '../backend';
import type { MicroBatch } from '../batch';
import { randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { LlamaModel } from '../model/llama';
import { nativeOpsActive } from '../native';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import { estimateStepMemory, parameterCount } from './estimate';
import { resetWasmHeapPeak, wasmHeapUsage } from './out-of-memory';

beforeAll(async () => {
  expect((await initBackend('wasm', { threads: 1 })).name).toBe('wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

function batch(B: number, T: number, V: number): MicroBatch {
  const ids = new Int32Array(B * T).map((_, i) => (i * 7 + 3) % V);
  return { batchSize: B, seqLen: T, inputIds: ids, labels: ids.slice(), attentionMask: new Int32Array(B * T).fill(1) } as MicroBatch;
}

const SHAPES: Array<[string, Record<string, unknown>, number, number, number]> = [
  // name, config, batch, seq, gradient accumulation
  ['vocab-heavy', { vocab_size: 512, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 32, 1],
  ['deep', { vocab_size: 64, hidden_size: 48, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2 }, 2, 48, 1],
  ['long', { vocab_size: 128, hidden_size: 32, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 1 }, 1, 128, 2],
];

describe.each(SHAPES)('%s', (_name, over, B, T, accum) => {
  test.each([false, true])('checkpointing %s: estimate within 20 %% of the measured peak', (ck) => {
    const cfg = tinyConfig(over);
    const base = wasmHeapUsage().inUse;
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 5));
    model.setGradientCheckpointing(ck);
    const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
    const ts = new TrainStep(model, opt, () => 1e-3);
    const window = Array.from({ length: accum }, () => batch(B, T, cfg.vocabSize));
    ts.step(window);
    resetWasmHeapPeak();
    ts.step(window);
    const est = estimateStepMemory(cfg, {
      batchSize: B, seqLen: T, gradientAccumulationSteps: accum, gradientCheckpointing: ck, trainableParams: parameterCount(cfg),
      fusedKernels: nativeOpsActive(),
    });
    // Every tensor of the wasm backend lives in its heap: weights, AdamW state, the step's tensors.
    const measured = wasmHeapUsage().peak - base;
    const ratio = est.total / measured;
    if (process.env['PTFLOW_ESTIMATE_VERBOSE']) console.log(`${_name} ck=${ck}: estimate ${est.total} measured ${measured} ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
    model.dispose();
    opt.dispose();
  });
});
