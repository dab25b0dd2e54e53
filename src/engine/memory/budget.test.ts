// The memory check before training: when a step does not fit, a usage error with the estimate
// and settings that do fit (each re-checked here against the estimate); checkpointing's default;
// `backend: auto` going to cpu when the wasm heap cannot hold the run, and training there.
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { initBackend, shutdownBackend } from '../backend';
import { randomWeights, tinyConfig } from '../gradcheck/fixtures';
import { parseLlamaConfig } from '../model/config';
import { LlamaModel } from '../model/llama';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import {
  CHECKPOINTING_AUTO_BYTES, PROCESS_OVERHEAD_BYTES, checkStepMemory, checkpointSaveBytes, defaultLimits, planStepMemory, resolveCheckpointing, type MemoryLimits,
} from './budget';
import { estimateStepMemory, layerFloatsPerToken, parameterCount } from './estimate';
import { trainableParameterCount } from './trainable';

const GiB = 1024 ** 3;
const smol = parseLlamaConfig(
  {
    vocab_size: 32000, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
    num_key_value_heads: 3, tie_word_embeddings: true, max_position_embeddings: 2048,
  },
  'smollm',
);
const run = (batchSize: number, cutoffLen: number) => ({
  batchSize, cutoffLen, gradientAccumulationSteps: 1, trainableParams: parameterCount(smol),
});
const wasmLimits: MemoryLimits = { backendBytes: 0.9 * 4 * GiB, machineBytes: 24 * GiB };

afterAll(async () => {
  await shutdownBackend();
});

test('SmolLM-135M at 512 × 4 without checkpointing: the error gives the estimate and settings that fit', () => {
  let err: unknown;
  try {
    checkStepMemory(smol, run(4, 512), false, 'wasm', wasmLimits);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PtflowError);
  const msg = (err as PtflowError).message;
  expect((err as PtflowError).exitCode).toBe(2);
  const total = estimateStepMemory(smol, { batchSize: 4, seqLen: 512, gradientAccumulationSteps: 1, gradientCheckpointing: false, trainableParams: parameterCount(smol) }).total;
  expect(total).toBeGreaterThan(wasmLimits.backendBytes);
  expect(msg).toContain(`needs an estimated ${(total / GiB).toFixed(2)} GiB`);
  expect(msg).toContain('the wasm backend can hold 3.60 GiB of tensors');
  expect(msg).toMatch(/gradient_checkpointing: true \(/);
  expect(msg).toMatch(/per_device_train_batch_size: (\d) with gradient_accumulation_steps: (\d)/);
  expect(msg).toMatch(/cutoff_len: \d+/);
  expect(msg).toContain('backend: cpu');
  // Each suggestion fits by the same estimate, and the batch one is the largest that does.
  const [, b, accum] = /per_device_train_batch_size: (\d) with gradient_accumulation_steps: (\d)/.exec(msg) as RegExpExecArray;
  // With the accumulation it names (the running sum of the gradients counts).
  const withAccum = (batch: number) => ({ ...run(batch, 512), gradientAccumulationSteps: Math.ceil(4 / batch) });
  expect(withAccum(Number(b)).gradientAccumulationSteps).toBe(Number(accum));
  expect(() => checkStepMemory(smol, withAccum(Number(b)), false, 'wasm', wasmLimits)).not.toThrow();
  expect(() => checkStepMemory(smol, withAccum(Number(b) + 1), false, 'wasm', wasmLimits)).toThrow(PtflowError);
  expect(Number(b) * Number(accum)).toBeGreaterThanOrEqual(4);
  const t = Number((/cutoff_len: (\d+)/.exec(msg) as RegExpExecArray)[1]);
  expect(() => checkStepMemory(smol, run(4, t), false, 'wasm', wasmLimits)).not.toThrow();
  expect(() => checkStepMemory(smol, run(4, 512), true, 'wasm', wasmLimits)).not.toThrow();
});

test('a step larger than the machine names the machine, not the backend', () => {
  expect(() => checkStepMemory(smol, run(1024, 2048), true, 'cpu', { backendBytes: Infinity, machineBytes: 24 * GiB })).toThrow(
    /this machine has 24\.00 GiB of memory/,
  );
});

test('checkpoint saves: two 4 MiB copy buffers on wasm and cpu, plus one copy of the largest tensor elsewhere, counted against the machine', () => {
  const MiB = 1024 ** 2;
  expect(checkpointSaveBytes(smol, 'wasm')).toBe(8 * MiB);
  expect(checkpointSaveBytes(smol, 'cpu')).toBe(8 * MiB);
  // The tied 32000 × 576 embedding is the largest tensor.
  expect(checkpointSaveBytes(smol, 'tensorflow')).toBe(8 * MiB + 32000 * 576 * 4);
  expect(defaultLimits('webgpu', smol).saveBytes).toBe(checkpointSaveBytes(smol, 'webgpu'));
  expect(defaultLimits('cpu').saveBytes).toBeUndefined();
  // Machines that hold the step and 16 MiB more: enough for the cpu save, not for a save that copies the embedding.
  const r = run(1, 256);
  const shape = { batchSize: 1, seqLen: 256, gradientAccumulationSteps: 1, gradientCheckpointing: false, trainableParams: parameterCount(smol) };
  const cpuLimits = defaultLimits('cpu', smol);
  // The cpu step also keeps its pool of freed output buffers (estimate.ts).
  const cpuTotal = estimateStepMemory(smol, { ...shape, bufferPoolLimitBytes: cpuLimits.bufferPoolLimitBytes }).total;
  expect(() => checkStepMemory(smol, r, false, 'cpu', { ...cpuLimits, machineBytes: cpuTotal + PROCESS_OVERHEAD_BYTES + 16 * MiB })).not.toThrow();
  const tfTotal = estimateStepMemory(smol, shape).total;
  expect(() =>
    checkStepMemory(smol, r, false, 'tensorflow', { ...defaultLimits('tensorflow', smol), machineBytes: tfTotal + PROCESS_OVERHEAD_BYTES + 16 * MiB }),
  ).toThrow(/kept for the process itself, 78\.3 MiB for saving checkpoints\)/);
});

test('gradient checkpointing: the keys decide; unset, the fewest bottom layers that fit the wasm heap, or elsewhere keep the peak\'s activations ≤ 1 GiB', () => {
  const keys = (gc: boolean | null, disable = false) => ({ gradient_checkpointing: gc, disable_gradient_checkpointing: disable });
  expect(resolveCheckpointing(keys(true, true), smol, run(4, 512), wasmLimits)).toMatchObject({ on: false, layers: 0 });
  expect(resolveCheckpointing(keys(false), smol, run(4, 512), wasmLimits)).toMatchObject({ on: false, layers: 0 });
  expect(resolveCheckpointing(keys(true), tinyConfig(), run(1, 8), wasmLimits)).toMatchObject({ on: true, layers: tinyConfig().numHiddenLayers });
  expect(resolveCheckpointing(keys(null), smol, run(1, 128), wasmLimits)).toMatchObject({ on: false, layers: 0 });

  // By hand: a checkpointed layer keeps its input (D floats per token) instead of its activations
  // (stock kernels: layerFloatsPerToken per token and the B·H·T² probabilities), and at 512 × 4 the
  // peak is the head's phase, where every kept activation is live.
  const B = 4, T = 512, N = B * T, D = smol.hiddenSize, L = smol.numHiddenLayers;
  const layer = N * layerFloatsPerToken(smol) + B * smol.numAttentionHeads * T * T;
  const savedPerLayer = 4 * (layer - N * D);
  const without = estimateStepMemory(smol, { batchSize: B, seqLen: T, gradientAccumulationSteps: 1, gradientCheckpointing: false, trainableParams: parameterCount(smol) });
  const onWasm = resolveCheckpointing(keys(null), smol, run(B, T), wasmLimits);
  expect(onWasm.on).toBe(true);
  expect(onWasm.layers).toBe(Math.ceil((without.total - wasmLimits.backendBytes) / savedPerLayer));
  expect(onWasm.layers).toBeGreaterThan(0);
  expect(onWasm.layers).toBeLessThan(L);
  expect(onWasm.why).toContain(`the bottom ${onWasm.layers} of ${L} layers recomputed`);
  // No heap limit (cpu): activations are kept up to 1 GiB (head input and final norm input: 2·N·D more).
  const activations = (k: number) => 4 * (k * N * D + (L - k) * layer + 2 * N * D);
  expect(activations(0)).toBe(without.activations);
  const cpuLimits: MemoryLimits = { backendBytes: Infinity, machineBytes: 24 * GiB };
  const onCpu = resolveCheckpointing(keys(null), smol, run(B, T), cpuLimits);
  expect(onCpu.layers).toBe(Math.ceil((activations(0) - CHECKPOINTING_AUTO_BYTES) / savedPerLayer));
  expect(activations(onCpu.layers)).toBeLessThanOrEqual(CHECKPOINTING_AUTO_BYTES);
  expect(activations(onCpu.layers - 1)).toBeGreaterThan(CHECKPOINTING_AUTO_BYTES);
  // A heap that holds just the all-layers step: the fewest layers whose estimate is that low (past
  // some k the peak is the optimizer's phase and more recomputation saves nothing); a heap that holds
  // not even that: the same fewest layers, the smallest estimate (checkStepMemory then refuses).
  const total = (k: number) => estimateStepMemory(smol, { batchSize: B, seqLen: T, gradientAccumulationSteps: 1, gradientCheckpointing: true, checkpointedLayers: k, trainableParams: parameterCount(smol) }).total;
  const tight: MemoryLimits = { backendBytes: total(L), machineBytes: 24 * GiB };
  const fewest = Array.from({ length: L + 1 }, (_, k) => k).find((k) => k > 0 && total(k) <= total(L))!;
  expect(total(fewest - 1)).toBeGreaterThan(total(L));
  expect(resolveCheckpointing(keys(null), smol, run(B, T), tight)).toMatchObject({ on: true, layers: fewest });
  expect(fewest).toBeLessThan(L);
  expect(resolveCheckpointing(keys(null), smol, run(B, T), { ...tight, backendBytes: GiB })).toMatchObject({ on: true, layers: fewest });
});

test('partial checkpointing: the estimate falls by the hand-derived amount per layer, and the refusal names the layers', () => {
  const shape = { batchSize: 4, seqLen: 512, gradientAccumulationSteps: 1, gradientCheckpointing: true, trainableParams: parameterCount(smol) };
  const N = 4 * 512;
  const layer = N * layerFloatsPerToken(smol) + 4 * smol.numAttentionHeads * 512 * 512;
  const e10 = estimateStepMemory(smol, { ...shape, checkpointedLayers: 10 }).total;
  const e11 = estimateStepMemory(smol, { ...shape, checkpointedLayers: 11 }).total;
  expect(e10 - e11).toBe(4 * (layer - N * smol.hiddenSize));
  expect(estimateStepMemory(smol, { ...shape, checkpointedLayers: 30 }).total).toBe(estimateStepMemory(smol, shape).total);
  expect(() => checkStepMemory(smol, run(4, 512), 2, 'wasm', wasmLimits)).toThrow(/gradient checkpointing on for the bottom 2 of 30 layers\) needs an estimated/);
  expect(() => checkStepMemory(smol, run(4, 512), 20, 'wasm', wasmLimits)).not.toThrow();
});

test('backend auto with a run the wasm heap cannot hold: cpu, and the step trains there', async () => {
  await shutdownBackend();
  const info = await initBackend('auto', { wasmUnfit: 'one step needs an estimated 5.00 GiB, its heap holds 3.60 GiB' });
  expect(info.name).toBe('cpu');
  expect(info.notes.join('\n')).toContain('wasm: skipped (one step needs an estimated 5.00 GiB');
  const cfg = tinyConfig();
  const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 2));
  model.setGradientCheckpointing(true);
  const opt = new AdamW(model.trainableParams(), {});
  const ts = new TrainStep(model, opt, () => 0.01);
  const ids = Int32Array.from([3, 7, 1, 9, 4, 2, 10, 5]);
  const b = { batchSize: 1, seqLen: 8, inputIds: ids, labels: ids.slice(), attentionMask: new Int32Array(8).fill(1) };
  const l0 = ts.step([b]).loss;
  const l1 = ts.step([b]).loss;
  expect(l1).toBeLessThan(l0);
  expect(tf.getBackend()).toBe('cpu');
  model.dispose();
  opt.dispose();
});

test('trainable parameters from the config: full, freeze, LoRA (the cpu backend of the test above)', () => {
  const cfg = tinyConfig();
  expect(trainableParameterCount(cfg, { finetuningType: 'full' })).toBe(parameterCount(cfg));
  const m = LlamaModel.fromWeights(cfg, randomWeights(cfg, 1));
  for (const ft of [
    { finetuningType: 'freeze' as const, trainableLayers: 1 },
    { finetuningType: 'lora' as const, rank: 3, target: 'q_proj,v_proj' },
  ]) {
    m.setFinetuning(ft);
    const real = [...m.trainableParams().values()].reduce((a, v) => a + v.size, 0);
    expect(trainableParameterCount(cfg, ft)).toBe(real);
  }
  m.dispose();
});

test('planStepMemory: auto stays on wasm when checkpointing makes the run fit; beyond the heap, cpu and checkpointing by the 1 GiB rule', () => {
  const keys = { gradient_checkpointing: null, disable_gradient_checkpointing: false };
  // SmolLM-135M at 512 × 4: 5.4 GiB without checkpointing, 2.1 GiB with it: wasm, with some layers checkpointed.
  const fits = planStepMemory(keys, smol, run(4, 512), 'auto');
  expect(fits.checkpointing.on).toBe(true);
  expect(fits.checkpointing.layers).toBeLessThan(smol.numHiddenLayers);
  expect(fits.wasmUnfit).toBeUndefined();
  // SmolLM-360M (vocabulary 49152) at 256 × 1: its state alone exceeds the heap; activations < 1 GiB.
  const big = parseLlamaConfig(
    { vocab_size: 49152, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, tie_word_embeddings: true },
    'smollm-360m',
  );
  const r = { batchSize: 1, cutoffLen: 256, gradientAccumulationSteps: 1, trainableParams: parameterCount(big) };
  const beyond = planStepMemory(keys, big, r, 'auto');
  const off = estimateStepMemory(big, { ...r, seqLen: 256, gradientCheckpointing: false });
  expect(off.weights + off.optimizer).toBeGreaterThan(4 * GiB);
  expect(beyond.checkpointing.on).toBe(false);
  expect(beyond.wasmUnfit).toBe(`one step needs an estimated ${(off.total / GiB).toFixed(2)} GiB, its heap holds 3.60 GiB`);
  // Asked for wasm, the plan does not switch: checkpointing on to fit (checkStepMemory then refuses).
  const wasm = planStepMemory(keys, big, r, 'wasm');
  expect(wasm.checkpointing.on).toBe(true);
  expect(wasm.wasmUnfit).toBeUndefined();
  // An explicit key wins on either path.
  expect(planStepMemory({ ...keys, gradient_checkpointing: true }, big, r, 'auto').checkpointing.on).toBe(true);
});
