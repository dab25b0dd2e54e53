/**
 * GEMM benchmark: native kernels vs the stock wasm kernel, in one run, on the reference
 * training step's shapes (tokens 8x128 = 1024 rows; hidden 256, intermediate 704, vocab 8192)
 * and 1024³. Stock wasm is measured in child processes at each thread setting (wasm threads
 * are fixed at start) with PTFLOW_NATIVE=0, and the best is kept; native is `tf.matMul` on
 * the wasm backend with the native kernels registered, plus the raw addon call.
 *
 *   node dist/bench/gemm.js [--threads 1,2] [--seconds 1.5] [--json]
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '../src/engine/backend';
import { loadNativeAddon, planMatMul, registerNativeKernels, runGemm } from '../src/engine/native';
import { randomFloat32 } from '../src/engine/native/reference';
import { timeIt } from './util/stats';

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  tA: boolean;
  tB: boolean;
}

const SHAPES: Shape[] = [
  { name: 'fwd X·W [1024x256]·[256x704]', M: 1024, N: 704, K: 256, tA: false, tB: false },
  { name: 'fwd X·Wᵀ (HF layout W [704,256])', M: 1024, N: 704, K: 256, tA: false, tB: true },
  { name: 'dX = dY·Wᵀ [1024x704]·[704x256]', M: 1024, N: 256, K: 704, tA: false, tB: true },
  { name: 'dW = Xᵀ·dY [256x1024]·[1024x704]', M: 256, N: 704, K: 1024, tA: true, tB: false },
  { name: 'lm_head X·Eᵀ 1024x256x8192', M: 1024, N: 8192, K: 256, tA: false, tB: true },
  { name: 'lm_head dX = dL·E', M: 1024, N: 256, K: 8192, tA: false, tB: false },
  { name: 'lm_head dE = dLᵀ·X', M: 8192, N: 256, K: 1024, tA: true, tB: false },
  { name: '1024³', M: 1024, N: 1024, K: 1024, tA: false, tB: false },
];

const flops = (s: Shape) => 2 * s.M * s.N * s.K;
const aShape = (s: Shape) => (s.tA ? [s.K, s.M] : [s.M, s.K]);
const bShape = (s: Shape) => (s.tB ? [s.N, s.K] : [s.K, s.N]);

/** GFLOP/s of tf.matMul on the current backend for every shape. */
function measureTf(budget: number): number[] {
  return SHAPES.map((s, i) => {
    const a = tf.tensor(randomFloat32(s.M * s.K, 2 * i + 1), aShape(s));
    const b = tf.tensor(randomFloat32(s.K * s.N, 2 * i + 2), bShape(s));
    const sec = timeIt(() => tf.matMul(a, b, s.tA, s.tB).dispose(), budget);
    tf.dispose([a, b]);
    return flops(s) / sec / 1e9;
  });
}

function measureRaw(budget: number): number[] {
  const load = loadNativeAddon();
  if (!load.ok) return SHAPES.map(() => NaN);
  return SHAPES.map((s, i) => {
    const a = randomFloat32(s.M * s.K, 2 * i + 1);
    const b = randomFloat32(s.K * s.N, 2 * i + 2);
    const c = new Float32Array(s.M * s.N);
    const plan = planMatMul(aShape(s), bShape(s), s.tA, s.tB);
    const sec = timeIt(
      () => runGemm(load.addon, plan, { array: a, byteOffset: 0 }, { array: b, byteOffset: 0 }, { array: c, byteOffset: 0 }),
      budget,
    );
    return flops(s) / sec / 1e9;
  });
}

async function child(threads: number, budget: number): Promise<void> {
  await initBackend('wasm', { threads });
  const r = measureTf(budget);
  process.stdout.write(`${JSON.stringify({ threads, gflops: r })}\n`);
  await shutdownBackend();
}

function stockInChild(threads: number, budget: number): number[] {
  const res = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', String(threads), '--seconds', String(budget)], {
    encoding: 'utf8',
    env: { ...process.env, PTFLOW_NATIVE: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (res.status !== 0 || line === undefined) {
    throw new Error(`stock wasm (${threads} threads) failed: ${(res.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  return (JSON.parse(line) as { gflops: number[] }).gflops;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      child: { type: 'string' },
      threads: { type: 'string' },
      seconds: { type: 'string', default: '1.5' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const budget = Number(values.seconds);
  if (values.child !== undefined) return child(Number(values.child), budget);
  const cores = Math.max(1, os.availableParallelism());
  const settings = values.threads !== undefined ? values.threads.split(',').map(Number) : [...new Set([1, cores])];

  const stock = settings.map((t) => ({ threads: t, gflops: stockInChild(t, budget) }));
  const info = await initBackend('wasm', { threads: cores });
  const reg = registerNativeKernels('wasm');
  if (!reg.active) throw new Error(`native kernels inactive: ${reg.reason ?? '?'}`);
  const native = measureTf(budget);
  const raw = measureRaw(budget);
  await shutdownBackend();

  const rows = SHAPES.map((s, i) => {
    const best = stock.reduce((p, c) => (c.gflops[i] > p.gflops[i] ? c : p));
    return {
      shape: s.name,
      M: s.M,
      N: s.N,
      K: s.K,
      transposeA: s.tA,
      transposeB: s.tB,
      stock: Object.fromEntries(stock.map((x) => [`wasm_${x.threads}t`, x.gflops[i]])),
      stockBest: best.gflops[i],
      stockBestThreads: best.threads,
      native: native[i],
      nativeRaw: raw[i],
      ratio: native[i] / best.gflops[i],
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ isa: reg.isa, threads: cores, backend: info.name, rows }, null, 1));
    return;
  }
  console.log(`native GEMM (${reg.isa}, ${loadNativeAddon().ok ? cores : 0} threads) vs stock wasm; GFLOP/s, median`);
  const head = ['shape', 'M', 'N', 'K', ...stock.map((x) => `wasm ${x.threads}t`), 'native', 'raw', 'ratio'];
  const table = rows.map((r) => [
    r.shape,
    String(r.M),
    String(r.N),
    String(r.K),
    ...stock.map((x) => r.stock[`wasm_${x.threads}t`].toFixed(1)),
    r.native.toFixed(1),
    r.nativeRaw.toFixed(1),
    `${r.ratio.toFixed(1)}x`,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
  const fmt = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
  console.log(fmt(head));
  for (const r of table) console.log(fmt(r));
  const ratios = rows.map((r) => r.ratio);
  console.log(`ratio native / best stock: min ${Math.min(...ratios).toFixed(1)}x, geomean ${Math.exp(ratios.reduce((p, r) => p + Math.log(r), 0) / ratios.length).toFixed(1)}x`);
}

main()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
