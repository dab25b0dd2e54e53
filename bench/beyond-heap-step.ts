/**
 * One process, one run of bench/beyond-heap.ts: ptflow's training step (TrainStep: forward,
 * loss, backward, clip, AdamW) for a Hugging Face config given as JSON, on the backend
 * `backend: auto` would pick for it (the memory estimate against the wasm heap, as the trainer
 * decides) or the one named; timed after a warm-up step, printed as one JSON line.
 *
 *   node dist/bench/beyond-heap-step.js --config '<json>' --batch 1 --seq 256 [--backend auto|wasm|cpu]
 *                                       [--elementwise typed|stock] [--steps 2] [--profile 20]
 *
 * `--elementwise stock` puts the cpu backend's stock element-wise kernels back in place of
 * ptflow's typed-array ones (kernels/elementwise-cpu.ts), to measure what those bring.
 * `--profile N` adds one more step under tf.profile and prints its N largest kernels (by name and
 * by input shapes) to stderr.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../src/engine/backend';
import { elementwiseCpuConfigs } from '../src/engine/kernels/elementwise-cpu';
import { stockKernel } from '../src/engine/kernels/stock';
import { planStepMemory } from '../src/engine/memory/budget';
import { estimateStepMemory, parameterCount } from '../src/engine/memory/estimate';
import { wasmHeapUsage } from '../src/engine/memory/out-of-memory';
import { cpuTensorMemory, trackCpuTensorMemory } from '../src/engine/memory/tensor-peak';
import { parseLlamaConfig } from '../src/engine/model/config';
import { LlamaModel } from '../src/engine/model/llama';
import { parameterShapes } from '../src/engine/model/names';
import { AdamW } from '../src/engine/optim/adamw';
import { TrainStep } from '../src/engine/train-step';
import { peakRssBytes } from './util/memory';
import { profileKernels } from './util/profile';
import { flopsPerToken, randomBatch } from './util/reference-model';
import { median } from './util/stats';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const cfg = parseLlamaConfig(JSON.parse(arg('config', '{}')) as unknown, 'bench config');
  const batchSize = Number(arg('batch', '1'));
  const seqLen = Number(arg('seq', '256'));
  const steps = Number(arg('steps', '2'));
  const requested = arg('backend', 'auto') as BackendRequest;
  const P = parameterCount(cfg);
  const run = { batchSize, cutoffLen: seqLen, gradientAccumulationSteps: 1, trainableParams: P };
  const keys = { gradient_checkpointing: null, disable_gradient_checkpointing: false };
  // What the trainer decides for this run (actors/TrainerActor.ts): checkpointing, and for auto whether wasm can hold it.
  const { checkpointing: ck, wasmUnfit } = planStepMemory(keys, cfg, run, requested);
  const est = estimateStepMemory(cfg, { batchSize, seqLen, gradientAccumulationSteps: 1, gradientCheckpointing: ck.on, checkpointedLayers: ck.layers, trainableParams: P });
  const info = await initBackend(requested, wasmUnfit !== undefined ? { wasmUnfit } : {});
  const elementwise = arg('elementwise', 'typed');
  if (elementwise === 'stock' && info.name === 'cpu') {
    for (const c of elementwiseCpuConfigs) {
      const k = stockKernel(c.kernelName, 'cpu', 'bench');
      tf.unregisterKernel(c.kernelName, 'cpu');
      tf.registerKernel({ kernelName: c.kernelName, backendName: 'cpu', kernelFunc: k });
    }
  }
  if (info.name === 'cpu') trackCpuTensorMemory();
  const model = LlamaModel.init(cfg, 42);
  model.setGradientCheckpointing(ck.layers);
  const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
  const ts = new TrainStep(model, opt, () => 1e-4, { maxGradNorm: 1 });
  const batch = randomBatch(cfg.vocabSize, batchSize, seqLen);
  const t0 = performance.now();
  const losses = [ts.step([batch]).loss];
  const firstMs = performance.now() - t0;
  const walls: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    losses.push(ts.step([batch]).loss);
    walls.push(performance.now() - t);
  }
  const stepMs = median(walls);
  const top = Number(arg('profile', '0'));
  if (top > 0) {
    const p = await profileKernels(() => void ts.step([batch]));
    const total = p.totals.reduce((a, k) => a + k.ms, 0);
    const line = (k: { name: string; calls: number; ms: number }): string =>
      `  ${k.name.slice(0, 70).padEnd(70)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(9)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)} %`;
    console.error(`profiled step: ${p.wallMs.toFixed(0)} ms wall, ${total.toFixed(0)} ms in kernels; by kernel:`);
    for (const k of p.totals.slice(0, top)) console.error(line(k));
    console.error('by input shapes:');
    for (const k of p.byShape.slice(0, top)) console.error(line(k));
  }
  const tokens = batchSize * seqLen;
  const fpt = flopsPerToken(parameterShapes(cfg), cfg, seqLen);
  const tensorPeak = info.name === 'cpu' ? cpuTensorMemory().peak : wasmHeapUsage().peak;
  console.log(JSON.stringify({
    impl: 'ptflow', backend: info.name, elementwise: info.name === 'cpu' ? elementwise : 'wasm', notes: info.notes,
    threads: info.threads, native: info.native?.active ?? false, checkpointing: ck.layers, params: P,
    stateBytes: est.weights + est.optimizer + P * 4, estimateBytes: est.total, tensorPeakBytes: tensorPeak, tokens,
    firstStepMs: firstMs, stepMs, stepsMs: walls, tokensPerS: tokens / (stepMs / 1000), gflops: (fpt * tokens) / (stepMs * 1e6),
    peakRssBytes: peakRssBytes(), losses,
  }));
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
