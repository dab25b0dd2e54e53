/**
 * Train-step benchmark on the reference model (see util/reference-model.ts): one full optimizer
 * step (`TrainStep`: forward, loss, backward, clip to norm 1, AdamW) per iteration, timed after
 * one warm-up.
 * Prints tokens/s, achieved GFLOP/s, the backend's own 1024³ matmul GFLOP/s measured in this run,
 * their ratio, and peak RSS (the wasm heap included: it is process memory).
 *
 *   node dist/bench/train-step.js [--backend wasm|webgpu|…] [--allow-software] [--threads N] [--steps 5] [--native on|off]
 *                                 [--profile] [--json]
 *
 * `--profile` adds a per-kernel time table of one step (tf.profile).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../src/engine/backend';
import { LlamaModel } from '../src/engine/model/llama';
import { parameterShapes } from '../src/engine/model/names';
import { AdamW } from '../src/engine/optim/adamw';
import { TrainStep } from '../src/engine/train-step';
import { applyNativeFlag, parseBenchArgs } from './util/args';
import { describeBackend } from './util/backend-line';
import { measureMatmul } from './util/matmul';
import { mib, peakRssBytes, wasmHeapBytes } from './util/memory';
import { profileKernels } from './util/profile';
import { REFERENCE_SHAPE, flopsPerToken, randomBatch, referenceConfig } from './util/reference-model';
import { median, startLap } from './util/stats';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), { steps: 5, reps: 10 });
  applyNativeFlag(args.native);
  const info = await initBackend(args.backend, {
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
    webgpuAllowSoftware: args.allowSoftware,
  });
  const matmul = measureMatmul(1024, args.reps);

  const cfg = referenceConfig();
  const { batchSize, seqLen } = REFERENCE_SHAPE;
  const model = LlamaModel.init(cfg, 42);
  const params = model.trainableParams();
  const opt = new AdamW(params, { weightDecay: 0.01 });
  const trainStep = new TrainStep(model, opt, () => 1e-3, { maxGradNorm: 1 });
  const batch = randomBatch(cfg.vocabSize, batchSize, seqLen);
  const fpt = flopsPerToken(parameterShapes(cfg), cfg, seqLen);
  const paramCount = [...params.values()].reduce((a, v) => a + v.size, 0);

  // One optimizer step exactly as training runs it (src/engine/train-step.ts).
  const step = (): number => trainStep.step([batch]).loss;

  const losses: number[] = [step()];
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < args.steps; i++) {
    const lap = startLap();
    losses.push(step());
    const { wallMs, cpuMs } = lap();
    walls.push(wallMs);
    cpus.push(cpuMs);
  }
  const stepMs = median(walls);
  const stepCpuMs = median(cpus);
  const tokens = batchSize * seqLen;
  const tokensPerS = tokens / (stepMs / 1000);
  const achieved = (fpt * tokensPerS) / 1e9;
  const achievedPerCpuS = (fpt * tokens) / (stepCpuMs * 1e6);
  const result = {
    backend: info,
    model: { params: paramCount, flopsPerToken: fpt, batchSize, seqLen },
    stepMs,
    stepCpuMs,
    tokensPerS,
    achievedGflops: achieved,
    matmulGflops: matmul.gflops,
    ratio: achieved / matmul.gflops,
    /** The same ratio in CPU time: robust to other processes sharing the cores. */
    cpuRatio: achievedPerCpuS / matmul.gflopsPerCpuS,
    peakRssBytes: peakRssBytes(),
    wasmHeapBytes: wasmHeapBytes(),
    losses,
    tensorsAfter: tf.memory().numTensors,
  };

  let profile: Awaited<ReturnType<typeof profileKernels>> | undefined;
  if (args.profile) profile = await profileKernels(() => void step());

  if (args.json) {
    console.log(JSON.stringify({ ...result, profile }));
  } else {
    console.log(`backend: ${describeBackend(info)}`);
    for (const n of info.notes) console.log(`  note: ${n}`);
    console.log(
      `model: ${(paramCount / 1e6).toFixed(2)}M params, ${(fpt / 1e6).toFixed(1)} MFLOP/token, batch ${batchSize} × seq ${seqLen}`,
    );
    console.log(`step: ${stepMs.toFixed(0)} ms median of ${args.steps} → ${tokensPerS.toFixed(0)} tokens/s (CPU time ${stepCpuMs.toFixed(0)} ms/step)`);
    console.log(`achieved: ${achieved.toFixed(1)} GFLOP/s; matmul 1024³: ${matmul.gflops.toFixed(1)} GFLOP/s; ratio ${result.ratio.toFixed(2)}`);
    console.log(
      `per CPU-second: achieved ${achievedPerCpuS.toFixed(1)} vs matmul ${matmul.gflopsPerCpuS.toFixed(1)} GFLOP; ratio ${result.cpuRatio.toFixed(2)}`,
    );
    console.log(`memory: peak RSS ${mib(result.peakRssBytes)} (wasm heap ${mib(result.wasmHeapBytes)}); tensors ${result.tensorsAfter}`);
    console.log(`loss: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    if (profile) {
      const total = profile.totals.reduce((a, k) => a + k.ms, 0);
      console.log(`profile of one step: ${profile.wallMs.toFixed(0)} ms wall (profiling included), ${total.toFixed(0)} ms in kernels`);
      console.log(`  peak tensor bytes during the step: ${mib(profile.peakTensorBytes)}`);
      for (const k of profile.totals.slice(0, 20)) {
        console.log(`  ${k.name.padEnd(22)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(8)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)} %`);
      }
      console.log('  largest by input shapes:');
      for (const k of profile.byShape.slice(0, 15)) {
        console.log(`    ${k.name.padEnd(44)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(8)} ms`);
      }
      for (const w of profile.wrappers) {
        console.log(`  (${w.name}: ${w.calls} custom-gradient scopes, ${w.ms.toFixed(0)} ms, already counted above)`);
      }
    }
  }
  model.dispose();
  await shutdownBackend();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
