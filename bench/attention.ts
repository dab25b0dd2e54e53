/**
 * The fused native attention kernel alone (raw addon calls, no TensorFlow.js) on the
 * SmolLM-135M attention shapes (head size 64, 9 query heads, 3 kv heads) with the model's
 * causal mask, against the addon's GEMM measured in the same run. GFLOP/s count the causal
 * products only (key j ≤ query i, 2·d FLOPs per pair and product): two products forward
 * (q·kᵀ, P·v), five backward (q·kᵀ again, dO·vᵀ, dS·k, dSᵀ·q, Pᵀ·dO).
 *
 *   node dist/bench/attention.js [--shapes 512x4,2048x1] [--seconds 1.5] [--threads 2] [--json]
 */
import * as os from 'os';
import { parseArgs } from 'util';
import { loadNativeAddon, planMatMul, runGemm } from '../src/engine/native';
import type { NativeAddon } from '../src/engine/native';
import { randomFloat32 } from '../src/engine/native/reference';
import { additiveMaskRow } from '../src/engine/ops/attention-mask';
import { timeIt } from './util/stats';

const HEADS = 9;
const KV_HEADS = 3;
const HEAD_DIM = 64;

/** GFLOP/s of the addon's GEMM on [M, K]·[K, N]. */
function gemmRate(addon: NativeAddon, M: number, N: number, K: number, budget: number): number {
  const a = randomFloat32(M * K, 1);
  const b = randomFloat32(K * N, 2);
  const c = new Float32Array(M * N);
  const plan = planMatMul([M, K], [K, N], false, false);
  const sec = timeIt(() => runGemm(addon, plan, { array: a, byteOffset: 0 }, { array: b, byteOffset: 0 }, { array: c, byteOffset: 0 }), budget);
  return (2 * M * N * K) / sec / 1e9;
}

interface Row {
  shape: string;
  forwardMs: number;
  backwardMs: number;
  forwardGflops: number;
  backwardGflops: number;
  totalGflops: number;
}

function measureAttention(addon: NativeAddon, B: number, T: number, budget: number): Row {
  const H = HEADS, KV = KV_HEADS, d = HEAD_DIM;
  const q = randomFloat32(B * T * H * d, 3);
  const k = randomFloat32(B * T * KV * d, 4);
  const v = randomFloat32(B * T * KV * d, 5);
  const dout = randomFloat32(B * T * H * d, 6);
  const mask = new Float32Array(B * T * T);
  const ones = new Int32Array(B * T).fill(1);
  for (let r = 0; r < B; r++) mask.set(additiveMaskRow({ batchSize: B, seqLen: T, attentionMask: ones }, r), r * T * T);
  const out = new Float32Array(B * T * H * d);
  const stats = new Float32Array(B * H * T * 2);
  const dq = new Float32Array(B * T * H * d);
  const dk = new Float32Array(B * T * KV * d);
  const dv = new Float32Array(B * T * KV * d);
  const desc = new Float64Array([B, T, H, KV, d, 1 / Math.sqrt(d)]);
  const fwd = (): void => addon.attnForward!(q, 0, k, 0, v, 0, mask, 0, out, 0, stats, 0, desc);
  const bwd = (): void => addon.attnBackward!(q, 0, k, 0, v, 0, mask, 0, stats, 0, dout, 0, dq, 0, dk, 0, dv, 0, desc);
  const fSec = timeIt(fwd, budget);
  fwd();
  const bSec = timeIt(bwd, budget);
  const product = B * H * ((T * (T + 1)) / 2) * 2 * d;
  return {
    shape: `${T}x${B}`,
    forwardMs: fSec * 1e3,
    backwardMs: bSec * 1e3,
    forwardGflops: (2 * product) / fSec / 1e9,
    backwardGflops: (5 * product) / bSec / 1e9,
    totalGflops: (7 * product) / (fSec + bSec) / 1e9,
  };
}

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      shapes: { type: 'string', default: '512x4,2048x1' },
      seconds: { type: 'string', default: '1.5' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required: ${load.reason}`);
  const addon = load.addon;
  if (addon.attnForward === undefined || addon.attnBackward === undefined) throw new Error('the addon has no attention kernels');
  addon.setNumThreads(values.threads !== undefined ? Number(values.threads) : Math.max(1, os.availableParallelism()));
  const budget = Number(values.seconds);
  const gemm = gemmRate(addon, 1024, 1024, 1024, budget);
  const rows = values.shapes.split(',').map((s) => {
    const [T, B] = s.split('x').map(Number);
    return measureAttention(addon, B, T, budget);
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ isa: addon.info().isa, threads: addon.getNumThreads(), gemm1024Gflops: gemm, rows })}\n`);
    return;
  }
  process.stdout.write(`isa ${addon.info().isa}, ${addon.getNumThreads()} threads; addon GEMM 1024³: ${gemm.toFixed(1)} GFLOP/s\n`);
  for (const r of rows) {
    process.stdout.write(
      `T×B ${r.shape.padEnd(7)} fwd ${r.forwardMs.toFixed(1).padStart(7)} ms ${r.forwardGflops.toFixed(1).padStart(6)} GFLOP/s` +
        `  bwd ${r.backwardMs.toFixed(1).padStart(7)} ms ${r.backwardGflops.toFixed(1).padStart(6)} GFLOP/s` +
        `  fwd+bwd ${r.totalGflops.toFixed(1).padStart(6)} GFLOP/s (${(r.totalGflops / gemm).toFixed(2)}× GEMM)\n`,
    );
  }
}

main();
