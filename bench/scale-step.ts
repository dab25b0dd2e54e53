/**
 * One process, one shape: ptflow's training step (TrainStep: forward, loss, backward, clip,
 * AdamW) timed after a warm-up step, printed as one JSON line. `bench/scale.ts` runs it in a
 * fresh process per shape so each peak RSS is that shape's own.
 *
 *   node dist/bench/scale-step.js --shape smollm135m-512x4 [--backend wasm|cpu|auto]
 *                                 [--checkpointing on|off|N (the bottom N layers)] [--warmup 2] [--steps 2] [--threads N] [--layers N] [--serve]
 *
 * `--threads N` sets the wasm threads and the native kernels' pool. `--serve` (bench/threads.ts):
 * after the warm-up step print `{"ready":…}`, then run one step per `step` line on stdin and
 * print its `{"stepMs", "totalMs", "maxThreadMs"}` (wall time; CPU time of all threads and of
 * the busiest one), so a parent can interleave steps of several processes.
 */
import * as readline from 'node:readline';
import { initBackend, type BackendRequest } from '../src/engine/backend';
import { estimateStepMemory, parameterCount } from '../src/engine/memory/estimate';
import { wasmHeapUsage } from '../src/engine/memory/out-of-memory';
import { LlamaModel } from '../src/engine/model/llama';
import { parameterShapes } from '../src/engine/model/names';
import { AdamW } from '../src/engine/optim/adamw';
import { nativeOpsActive, setNativeThreads } from '../src/engine/native';
import { TrainStep } from '../src/engine/train-step';
import { peakRssBytes, wasmHeapBytes } from './util/memory';
import { flopsPerToken, randomBatch } from './util/reference-model';
import { findShape, shapeConfig } from './util/scale-shapes';
import { median } from './util/stats';
import { cpuSpread, threadCpuMs } from './util/thread-cpu';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const shape = findShape(arg('shape', 'reference'));
  const backend = arg('backend', 'auto') as BackendRequest;
  const steps = Number(arg('steps', '2'));
  const warmup = Math.max(1, Number(arg('warmup', '2')));
  const threads = process.argv.includes('--threads') ? Number(arg('threads', '2')) : undefined;
  const info = await initBackend(backend, threads !== undefined ? { threads } : {});
  if (threads !== undefined) setNativeThreads(threads);
  // --layers N: the shape with N decoder layers (a quicker proxy with the same per-layer ops).
  const layers = process.argv.includes('--layers') ? Number(arg('layers', '0')) : undefined;
  const cfg = layers !== undefined ? { ...shapeConfig(shape), numHiddenLayers: layers } : shapeConfig(shape);
  const ckArg = arg('checkpointing', 'on');
  const model = LlamaModel.init(cfg, 42);
  model.setGradientCheckpointing(ckArg === 'on' ? true : ckArg === 'off' ? false : Math.min(Number(ckArg), cfg.numHiddenLayers));
  const checkpointing = model.checkpointedLayers;
  const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
  const ts = new TrainStep(model, opt, () => 1e-4, { maxGradNorm: 1 });
  const batch = randomBatch(cfg.vocabSize, shape.batchSize, shape.seqLen);
  const t0 = performance.now();
  const losses = [ts.step([batch]).loss];
  const firstMs = performance.now() - t0;
  // More warm-up: the second step is the first with AdamW's state, and the wasm heap grows until then.
  for (let i = 1; i < warmup; i++) losses.push(ts.step([batch]).loss);
  if (process.argv.includes('--serve')) {
    console.log(JSON.stringify({ ready: true, firstStepMs: firstMs, threads: info.threads }));
    for await (const line of readline.createInterface({ input: process.stdin })) {
      if (line.trim() !== 'step') break;
      const cpu0 = threadCpuMs();
      const t = performance.now();
      const loss = ts.step([batch]).loss;
      const stepMs = performance.now() - t;
      console.log(JSON.stringify({ stepMs, loss, ...cpuSpread(cpu0, threadCpuMs()) }));
    }
    process.exit(0);
  }
  const walls: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    losses.push(ts.step([batch]).loss);
    walls.push(performance.now() - t);
  }
  const stepMs = median(walls);
  const tokens = shape.batchSize * shape.seqLen;
  const fpt = flopsPerToken(parameterShapes(cfg), cfg, shape.seqLen);
  const est = estimateStepMemory(cfg, {
    batchSize: shape.batchSize, seqLen: shape.seqLen, gradientAccumulationSteps: 1, gradientCheckpointing: checkpointing > 0, checkpointedLayers: checkpointing,
    trainableParams: parameterCount(cfg), fusedKernels: nativeOpsActive(),
  });
  console.log(JSON.stringify({
    impl: 'ptflow', shape: shape.name, backend: info.name, threads: info.threads, native: info.native?.active ?? false,
    checkpointing, params: parameterCount(cfg), tokens, firstStepMs: firstMs, stepMs, stepsMs: walls,
    tokensPerS: tokens / (stepMs / 1000), gflops: (fpt * tokens) / (stepMs * 1e6), peakRssBytes: peakRssBytes(),
    wasmHeapBytes: wasmHeapBytes(), wasmTensorPeakBytes: wasmHeapUsage().peak, estimateBytes: est.total, losses,
  }));
  // Threaded wasm keeps worker threads: leave at once.
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
