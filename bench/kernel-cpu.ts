/**
 * Which kernels of a training step still run on one thread: one TrainStep (scale-step.ts's
 * setup) after a warm-up step, with every kernel's CPU time split into the main thread's share
 * and all threads' (util/kernel-cpu.ts). A kernel whose main-thread time is close to its total
 * with --threads 2 is serial; the main thread's time is what bounds the step on an idle machine,
 * so the table is sorted by it. CPU times hold on a loaded machine where wall times do not.
 *
 * The figures are sums over `--steps` steps (5 by default). With the native addon the clocks are
 * exact to each call; without it they advance in scheduler ticks (see util/kernel-cpu.ts).
 *
 *   node dist/bench/kernel-cpu.js [--shape reference] [--layers N] [--threads 2] [--wasm-threads N] [--steps 5] [--checkpointing on|off|N]
 *                                 [--backend auto|wasm|cpu] [--shapes N] [--vocab V] [--batch B]
 *
 * `--shapes N` also lists the N (kernel, input shapes) pairs with the most main-thread time.
 */
import { initBackend, type BackendRequest } from '../src/engine/backend';
import { LlamaModel } from '../src/engine/model/llama';
import { AdamW } from '../src/engine/optim/adamw';
import { setNativeThreads } from '../src/engine/native';
import { TrainStep } from '../src/engine/train-step';
import { describeBackend } from './util/backend-line';
import { mainThreadCpuMs, trackKernelCpu } from './util/kernel-cpu';
import { randomBatch } from './util/reference-model';
import { findShape, shapeConfig } from './util/scale-shapes';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const shape = findShape(arg('shape', 'reference'));
  const threads = Number(arg('threads', '2'));
  // --wasm-threads N: the wasm build's own thread pool apart from the native kernels' pool.
  const info = await initBackend(arg('backend', 'auto') as BackendRequest, { threads: Number(arg('wasm-threads', String(threads))) });
  setNativeThreads(threads);
  const layers = process.argv.includes('--layers') ? Number(arg('layers', '1')) : undefined;
  // --vocab / --batch: e.g. the data-parallel bench's model (reference shape, vocab 32000) at each rank's batch.
  const base = shapeConfig(shape);
  const cfg = {
    ...base,
    ...(layers !== undefined ? { numHiddenLayers: layers } : {}),
    ...(process.argv.includes('--vocab') ? { vocabSize: Number(arg('vocab', '0')) } : {}),
  };
  const batchSize = Number(arg('batch', String(shape.batchSize)));
  const model = LlamaModel.init(cfg, 42);
  const ck = arg('checkpointing', 'on');
  model.setGradientCheckpointing(ck === 'on' ? true : ck === 'off' ? false : Math.min(Number(ck), model.config.numHiddenLayers));
  const ts = new TrainStep(model, new AdamW(model.trainableParams(), { weightDecay: 0.01 }), () => 1e-4, { maxGradNorm: 1 });
  const batch = randomBatch(cfg.vocabSize, batchSize, shape.seqLen);
  ts.step([batch]);
  const track = trackKernelCpu();
  ts.step([batch]); // once more with the wrappers in place
  track.reset();
  const m0 = mainThreadCpuMs();
  const c0 = process.cpuUsage();
  const steps = Number(arg('steps', '5'));
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) ts.step([batch]);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const mainMs = mainThreadCpuMs() - m0;
  const allMs = (c.user + c.system) / 1000;
  const rows = track.report();
  const byShape = track.byShape();
  track.stop();
  const inKernels = rows.reduce((a, r) => a + r.mainMs, 0);
  console.log(`backend: ${describeBackend(info)}; ${shape.name}${layers !== undefined ? ` with ${layers} layers` : ''}, native pool ${threads} threads`);
  console.log(`${steps} steps: wall ${wallMs.toFixed(0)} ms; CPU main thread ${mainMs.toFixed(0)} ms, all threads ${allMs.toFixed(0)} ms; main thread outside kernels ${(mainMs - inKernels).toFixed(0)} ms`);
  console.log(`  ${'kernel'.padEnd(26)}${'calls'.padStart(7)}${'main ms'.padStart(10)}${'all ms'.padStart(10)}${'main/all'.padStart(10)}`);
  for (const r of rows.slice(0, 30)) {
    console.log(`  ${r.name.padEnd(26)}${String(r.calls).padStart(7)}${r.mainMs.toFixed(1).padStart(10)}${r.allMs.toFixed(1).padStart(10)}${(r.mainMs / Math.max(r.allMs, 1e-9)).toFixed(2).padStart(10)}`);
  }
  console.log('  by input shapes, kernels mostly on the main thread (main/all ≥ 0.8):');
  for (const r of byShape.filter((x) => x.mainMs >= 0.8 * x.allMs).slice(0, 12)) {
    console.log(`    ${r.name.padEnd(60)}${String(r.calls).padStart(6)}${r.mainMs.toFixed(1).padStart(10)} ms`);
  }
  const topShapes = Number(arg('shapes', '0'));
  if (topShapes > 0) {
    console.log(`  by input shapes, the ${topShapes} largest:`);
    for (const r of byShape.slice(0, topShapes)) {
      console.log(`    ${r.name.padEnd(60)}${String(r.calls).padStart(6)}${r.mainMs.toFixed(1).padStart(10)} ms${r.allMs.toFixed(1).padStart(10)} ms all`);
    }
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
