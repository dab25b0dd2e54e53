/**
 * Scale benchmark: ptflow against PyTorch eager on the same CPU, in one run. For each shape of
 * util/scale-shapes.ts (SmolLM-135M with a 32k vocabulary at 512 × 4 and 2048 × 1, and the
 * reference model) it runs ptflow's training step (bench/scale-step.ts) and the same step in
 * PyTorch (bench/torch_step.py, Debian's python3-torch, 1 and 2 threads, the better one kept),
 * each in a fresh process, and numpy's OpenBLAS sgemm 1024³ before each shape (its rate moves by a
 * fifth between runs here: each shape is held against the rate measured next to it). Prints tokens/s, model GFLOP/s
 * (6 × non-embedding params incl. the head + 12·L·T·D per token), peak RSS, and the ratios the
 * targets are about: tokens/s ≥ 1.5× PyTorch, peak RSS ≤ PyTorch's, GFLOP/s ≥ 0.6× sgemm.
 *
 *   node dist/bench/scale.js [--shapes a,b] [--warmup 2] [--steps 2] [--torch-threads 1,2] [--checkpointing on|off|auto]
 *                            [--backend auto] [--layers N] [--json]
 *
 * `--layers N` runs every shape with N decoder layers in both ptflow and PyTorch (a quicker proxy
 * with the same per-layer ops; the head's share of the step is larger than in the full model).
 *
 * OpenBLAS runs with its own core detection: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed
 * from the Python processes' environment only.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultLimits, describeCheckpointing, resolveCheckpointing } from '../src/engine/memory/budget';
import { loadNativeAddon } from '../src/engine/native/addon';
import { parameterCount } from '../src/engine/memory/estimate';
import { parameterShapes } from '../src/engine/model/names';
import { flopsPerToken } from './util/reference-model';
import { SCALE_SHAPES, findShape, shapeConfig, type ScaleShape } from './util/scale-shapes';

type Row = Record<string, unknown> & { stepMs: number; tokensPerS: number; peakRssBytes: number };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = path.resolve(__dirname, '../../bench/torch_step.py');

function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  return env;
}

function runJson(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Row | { error: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || line === undefined) {
    return { error: `${path.basename(args[0] ?? cmd)} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  }
  return JSON.parse(line) as Row;
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Checkpointed layers (bottom ones) as the trainer would choose them for the full model on
 * `backend` (auto: wasm), or all / none; with `layers` (a proxy of the model) the same share of them.
 */
function checkpointingFor(s: ScaleShape, mode: string, backend: string, layers: number | undefined): number {
  const cfg = shapeConfig(s);
  const L = cfg.numHiddenLayers;
  let k = mode === 'on' ? L : 0;
  if (mode === 'auto') {
    const run = { batchSize: s.batchSize, cutoffLen: s.seqLen, gradientAccumulationSteps: 1, trainableParams: parameterCount(cfg), fusedKernels: loadNativeAddon().ok };
    const limits = defaultLimits(backend === 'cpu' ? 'cpu' : 'wasm');
    k = resolveCheckpointing({ gradient_checkpointing: null, disable_gradient_checkpointing: false }, cfg, run, limits).layers;
  }
  return layers === undefined ? k : Math.round((k * layers) / L);
}

function main(): void {
  const shapes = arg('shapes', SCALE_SHAPES.map((s) => s.name).join(',')).split(',').map(findShape);
  const steps = arg('steps', '2');
  // Untimed steps first, the same for ptflow and PyTorch (the first has no AdamW state yet).
  const warmup = arg('warmup', '2');
  const torchThreads = arg('torch-threads', '1,2').split(',');
  const ckMode = arg('checkpointing', 'auto');
  const backend = arg('backend', 'auto');
  const json = process.argv.includes('--json');
  const measureSgemm = (): number => {
    const r = runJson(PYTHON, [TORCH_SCRIPT, '--sgemm', '1024'], pythonEnv());
    if ('error' in r) console.error(`OpenBLAS sgemm: ${r.error}`);
    return 'error' in r ? NaN : (r['gflops'] as number);
  };
  const out: Array<Record<string, unknown>> = [];
  if (!json) {
    console.log(`machine: ${os.cpus().length} cores, ${gib(os.totalmem())}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  const layers = process.argv.includes('--layers') ? Number(arg('layers', '0')) : undefined;
  for (const full of shapes) {
    const s: ScaleShape = layers === undefined ? full : { ...full, hf: { ...full.hf, num_hidden_layers: layers } };
    const cfg = layers === undefined ? shapeConfig(s) : { ...shapeConfig(s), numHiddenLayers: layers };
    const tokens = s.batchSize * s.seqLen;
    const fpt = flopsPerToken(parameterShapes(cfg), cfg, s.seqLen);
    const ck = checkpointingFor(full, ckMode, backend, layers);
    const sgemmGflops = measureSgemm();
    const pt = runJson(process.execPath, [
      path.join(__dirname, 'scale-step.js'), '--shape', s.name, '--warmup', warmup, '--steps', steps, '--backend', backend, '--checkpointing', String(ck),
      ...(layers === undefined ? [] : ['--layers', String(layers)]),
    ]);
    const torchRuns = torchThreads.map((t) =>
      runJson(PYTHON, [TORCH_SCRIPT, '--config', JSON.stringify(s.hf), '--batch', String(s.batchSize), '--seq', String(s.seqLen), '--threads', t, '--warmup', warmup, '--steps', steps], pythonEnv()),
    );
    const okTorch = torchRuns.filter((r): r is Row => !('error' in r));
    const bestTorch = okTorch.sort((a, b) => a.stepMs - b.stepMs)[0];
    const gflops = 'error' in pt ? NaN : (fpt * tokens) / (pt.stepMs * 1e6);
    const row = {
      shape: s.name, tokens, mflopPerToken: fpt / 1e6, checkpointing: ck, ptflow: pt, torch: torchRuns, bestTorchThreads: bestTorch?.['threads'],
      speedup: bestTorch && !('error' in pt) ? pt.tokensPerS / bestTorch.tokensPerS : NaN,
      rssRatio: bestTorch && !('error' in pt) ? pt.peakRssBytes / bestTorch.peakRssBytes : NaN,
      gflops, sgemmGflops, sgemmRatio: gflops / sgemmGflops,
    };
    out.push(row);
    if (json) continue;
    console.log(`\n${s.name}: batch ${s.batchSize} × seq ${s.seqLen}, ${(parameterCount(cfg) / 1e6).toFixed(1)}M params, ${(fpt / 1e6).toFixed(0)} MFLOP/token`);
    console.log(`  OpenBLAS sgemm 1024³ (numpy) just before: ${sgemmGflops.toFixed(1)} GFLOP/s`);
    if ('error' in pt) console.log(`  ptflow: ${pt.error}`);
    else {
      console.log(
        `  ptflow (${pt['backend']}, ${pt['threads']} threads, checkpointing ${describeCheckpointing(ck, cfg.numHiddenLayers)}): ${pt.stepMs.toFixed(0)} ms/step, ` +
          `${pt.tokensPerS.toFixed(0)} tokens/s, ${gflops.toFixed(1)} GFLOP/s, peak RSS ${gib(pt.peakRssBytes)} ` +
          `(estimate ${gib(pt['estimateBytes'] as number)}, wasm tensors peak ${gib(pt['wasmTensorPeakBytes'] as number)})`,
      );
    }
    for (const r of torchRuns) {
      if ('error' in r) console.log(`  pytorch: ${r.error}`);
      else console.log(`  pytorch ${r['torch']} (${r['threads']} threads): ${r.stepMs.toFixed(0)} ms/step, ${r.tokensPerS.toFixed(0)} tokens/s, peak RSS ${gib(r.peakRssBytes)}`);
    }
    console.log(
      `  ratios: tokens/s ${row.speedup.toFixed(2)}× PyTorch (target ≥ 1.5); peak RSS ${row.rssRatio.toFixed(2)}× PyTorch's (target ≤ 1); ` +
        `GFLOP/s ${row.sgemmRatio.toFixed(2)}× sgemm (target ≥ 0.6)`,
    );
  }
  if (json) console.log(JSON.stringify({ loadavg: os.loadavg(), rows: out }));
  else console.log(`\nload average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main();
