/**
 * Where one training step of a model goes: per-kernel time (tf.profile) and step time of one
 * full optimizer step (forward, loss, backward, clip to norm 1, AdamW) for a Hugging Face
 * `config.json` (default: the demo model, examples/tiny-llama/config.json; `--config reference`
 * is the reference bench model), batch 8 × seq 128.
 *
 * With the native kernels active it measures both op forms in one process, steps interleaved
 * (the machine may be shared): "stock ops" (native GEMM only: explicit transposes, cross-entropy
 * from stock element-wise kernels) and "native ops" (transpose flags, fused cross-entropy).
 *
 *   node dist/bench/profile-step.js [--config path/config.json|reference] [--backend wasm]
 *                                   [--threads N] [--steps 3] [--native on|off] [--json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend, type BackendRequest } from '../src/engine/backend';
import { parseLlamaConfig } from '../src/engine/model/config';
import { LlamaModel } from '../src/engine/model/llama';
import { AdamW } from '../src/engine/optim/adamw';
import { clipByGlobalNorm } from '../src/engine/optim/clip';
import { nativeOpsActive, setNativeOpsEnabled } from '../src/engine/native';
import { usageError } from '../src/errors';
import { applyNativeFlag } from './util/args';
import { describeBackend } from './util/backend-line';
import { type KernelProfile, profileKernels } from './util/profile';
import { countLossTokens, randomBatch, referenceConfig } from './util/reference-model';
import { median } from './util/stats';

interface Args {
  config: string;
  backend: BackendRequest;
  threads?: number;
  steps: number;
  batchSize: number;
  seqLen: number;
  native?: boolean;
  json: boolean;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: path.join('examples', 'tiny-llama', 'config.json') },
      backend: { type: 'string', default: 'wasm' },
      threads: { type: 'string' },
      steps: { type: 'string', default: '3' },
      batch: { type: 'string', default: '8' },
      seq: { type: 'string', default: '128' },
      native: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw usageError(`--${flag}: expected a positive integer, got "${v}"`);
    return n;
  };
  if (values.native !== undefined && values.native !== 'on' && values.native !== 'off') {
    throw usageError(`--native: expected on or off, got "${values.native}"`);
  }
  return {
    config: values.config ?? '',
    backend: (values.backend ?? 'wasm') as BackendRequest,
    threads: int('threads', values.threads),
    steps: int('steps', values.steps) ?? 3,
    batchSize: int('batch', values.batch) ?? 8,
    seqLen: int('seq', values.seq) ?? 128,
    native: values.native === undefined ? undefined : values.native === 'on',
    json: values.json ?? false,
  };
}

function kernelTotal(p: KernelProfile): number {
  return p.totals.reduce((a, k) => a + k.ms, 0);
}

function printProfile(label: string, p: KernelProfile, stepMs: number): void {
  console.log(`${label}: step ${stepMs.toFixed(0)} ms (median); profiled step ${p.wallMs.toFixed(0)} ms wall, ${kernelTotal(p).toFixed(0)} ms in kernels`);
  console.log('  largest by input shapes:');
  for (const k of p.byShape.slice(0, 12)) {
    console.log(`    ${k.name.padEnd(52)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(8)} ms`);
  }
}

/** Kernel table of one or more profiles side by side (ms and calls per kernel name). */
function printTable(labels: string[], profiles: KernelProfile[]): void {
  const names = new Map<string, number>();
  for (const p of profiles) for (const k of p.totals) names.set(k.name, Math.max(names.get(k.name) ?? 0, k.ms));
  const order = [...names.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n);
  console.log(`  ${'kernel'.padEnd(28)}${labels.map((l) => l.padStart(22)).join('')}`);
  for (const name of order.slice(0, 20)) {
    const cells = profiles.map((p) => {
      const k = p.totals.find((t) => t.name === name);
      return (k ? `${k.ms.toFixed(1)} ms ×${k.calls}` : '—').padStart(22);
    });
    console.log(`  ${name.padEnd(28)}${cells.join('')}`);
  }
  console.log(`  ${'total in kernels'.padEnd(28)}${profiles.map((p) => `${kernelTotal(p).toFixed(1)} ms`.padStart(22)).join('')}`);
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  applyNativeFlag(args.native);
  const info = await initBackend(args.backend, args.threads !== undefined ? { threads: args.threads } : {});
  const cfg =
    args.config === 'reference'
      ? referenceConfig()
      : parseLlamaConfig(JSON.parse(fs.readFileSync(args.config, 'utf8')) as unknown, args.config);
  const batch = randomBatch(cfg.vocabSize, args.batchSize, args.seqLen);
  const lossTokens = countLossTokens(batch);

  /** One model and optimizer per mode, from the same init: their losses must agree. */
  const makeTrainer = () => {
    const model = LlamaModel.init(cfg, 42);
    const params = model.trainableParams();
    const opt = new AdamW(params, { weightDecay: 0.01 });
    const step = (): number => {
      const { value, grads } = tf.variableGrads(() => model.lossSum(batch), [...params.values()]);
      const named = new Map<string, tf.Tensor>();
      for (const [name, v] of params) {
        named.set(name, tf.mul(grads[v.name], 1 / lossTokens));
        grads[v.name].dispose();
      }
      const clipped = clipByGlobalNorm(named, 1.0);
      opt.step(clipped.grads, 1e-3);
      for (const g of clipped.grads.values()) g.dispose();
      const loss = value.dataSync()[0] / lossTokens;
      value.dispose();
      return loss;
    };
    return { step, dispose: () => model.dispose() };
  };

  // Modes measured: both op forms when the native kernels are active, else the one there is.
  const modes = nativeOpsActive() ? ['stock ops', 'native ops'] : [info.native?.active ? 'native ops' : 'stock kernels'];
  const select = (mode: string): void => setNativeOpsEnabled(mode !== 'stock ops');
  const trainers = new Map(modes.map((m) => [m, makeTrainer()]));
  const losses = new Map<string, number[]>(modes.map((m) => [m, []]));
  const times = new Map<string, number[]>(modes.map((m) => [m, []]));
  const cpuTimes = new Map<string, number[]>(modes.map((m) => [m, []]));
  const run = (m: string): number => {
    select(m);
    return trainers.get(m)?.step() ?? NaN;
  };
  for (const m of modes) losses.get(m)?.push(run(m)); // warm-up
  for (let i = 0; i < args.steps; i++) {
    for (const m of modes) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      losses.get(m)?.push(run(m));
      const c = process.cpuUsage(c0);
      times.get(m)?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      cpuTimes.get(m)?.push((c.user + c.system) / 1000);
    }
  }
  const profiles: KernelProfile[] = [];
  for (const m of modes) profiles.push(await profileKernels(() => void run(m)));
  setNativeOpsEnabled(true);
  for (const t of trainers.values()) t.dispose();
  const stepMs = modes.map((m) => median(times.get(m) ?? []));
  if (args.json) {
    const byMode = modes.map((m, i) => ({
      mode: m,
      stepMs: stepMs[i],
      stepCpuMs: median(cpuTimes.get(m) ?? []),
      times: times.get(m),
      losses: losses.get(m),
      profile: profiles[i],
    }));
    console.log(JSON.stringify({ backend: info, config: args.config, batchSize: args.batchSize, seqLen: args.seqLen, modes: byMode }));
  } else {
    console.log(`backend: ${describeBackend(info)}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`model: ${args.config}, batch ${args.batchSize} × seq ${args.seqLen}, ${args.steps} timed steps per mode (interleaved)`);
    modes.forEach((m, i) => {
      const cpu = median(cpuTimes.get(m) ?? []);
      console.log(
        `${m}: step ${stepMs[i].toFixed(0)} ms median (${(times.get(m) ?? []).map((t) => t.toFixed(0)).join(', ')}), CPU ${cpu.toFixed(0)} ms/step; losses ${(losses.get(m) ?? []).map((l) => l.toFixed(4)).join(' ')}`,
      );
    });
    console.log('per-kernel time of one profiled step:');
    printTable(modes, profiles);
    modes.forEach((m, i) => printProfile(m, profiles[i], stepMs[i]));
  }
  await shutdownBackend();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
