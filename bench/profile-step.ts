/**
 * Where one training step of a model goes: per-kernel time (tf.profile) and step time of one
 * full optimizer step (forward, loss, backward, clip to norm 1, AdamW) for a Hugging Face
 * `config.json` (default: the demo model, examples/tiny-llama/config.json), batch 8 × seq 128.
 *
 *   node dist/bench/profile-step.js [--config path/config.json] [--backend wasm] [--threads N]
 *                                   [--steps 3] [--native on|off] [--json]
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend, type BackendRequest } from '../src/engine/backend';
import { parseLlamaConfig } from '../src/engine/model/config';
import { LlamaModel } from '../src/engine/model/llama';
import { AdamW } from '../src/engine/optim/adamw';
import { clipByGlobalNorm } from '../src/engine/optim/clip';
import { usageError } from '../src/errors';
import { applyNativeFlag } from './util/args';
import { describeBackend } from './util/backend-line';
import { type KernelProfile, profileKernels } from './util/profile';
import { countLossTokens, randomBatch } from './util/reference-model';
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

function printProfile(label: string, p: KernelProfile, stepMs: number): void {
  const total = p.totals.reduce((a, k) => a + k.ms, 0);
  console.log(`${label}: step ${stepMs.toFixed(0)} ms (median); profiled step ${p.wallMs.toFixed(0)} ms wall, ${total.toFixed(0)} ms in kernels`);
  for (const k of p.totals.slice(0, 18)) {
    console.log(`  ${k.name.padEnd(28)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(8)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)} %`);
  }
  console.log('  largest by input shapes:');
  for (const k of p.byShape.slice(0, 12)) {
    console.log(`    ${k.name.padEnd(52)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(1).padStart(8)} ms`);
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  applyNativeFlag(args.native);
  const info = await initBackend(args.backend, args.threads !== undefined ? { threads: args.threads } : {});
  const cfg = parseLlamaConfig(JSON.parse(fs.readFileSync(args.config, 'utf8')) as unknown, args.config);
  const model = LlamaModel.init(cfg, 42);
  const params = model.trainableParams();
  const opt = new AdamW(params, { weightDecay: 0.01 });
  const batch = randomBatch(cfg.vocabSize, args.batchSize, args.seqLen);
  const lossTokens = countLossTokens(batch);

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

  const losses: number[] = [step()];
  const times: number[] = [];
  for (let i = 0; i < args.steps; i++) {
    const t0 = process.hrtime.bigint();
    losses.push(step());
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const stepMs = median(times);
  const profile = await profileKernels(() => void step());
  if (args.json) {
    console.log(JSON.stringify({ backend: info, config: args.config, stepMs, times, losses, profile }));
  } else {
    console.log(`backend: ${describeBackend(info)}`);
    console.log(`model: ${args.config}, batch ${args.batchSize} × seq ${args.seqLen}; loss ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    printProfile('profile', profile, stepMs);
  }
  model.dispose();
  await shutdownBackend();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
