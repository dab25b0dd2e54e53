/**
 * Data-parallel transport: MPI allreduce bandwidth for the reference model's gradient size
 * (bench/util/reference-model.ts, every trainable parameter in float32), over two ranks on this
 * machine, against a baseline measured in the same run: the same ranks summing the same bytes
 * locally (out[i] = a[i] + b[i], the arithmetic an allreduce of two ranks cannot avoid).
 *
 *   node dist/bench/ddp.js [--ranks 2] [--reps 10]       (starts mpiexec itself)
 *
 * Lines (rank 0 prints):
 *   fused      one allreduce over the whole gradient (chunked at the addon's 16 MiB); also with
 *              the addon's thread spinning instead of yielding while it waits (PTFLOW_MPI_WAIT=spin)
 *   buckets    25 MiB buckets (PyTorch DDP's default bucket_cap_mb), one allreduce each
 *   per-tensor one allreduce per parameter tensor (what bucketing saves)
 *   latency    a 1-element allreduce (per-call cost: MPI plus the addon's agreement check)
 *   overlap    the fused allreduce started, then this rank's JavaScript thread computing for about as
 *              long as the allreduce takes alone (a multiply-add loop standing in for a backward
 *              pass), then waiting for it: hidden = (compute + allreduce − both) / allreduce, the
 *              share of the allreduce a backward pass could hide on this machine at best (the
 *              three timed in turn in each repetition; medians)
 * GB/s is gradient bytes / time (algorithm bandwidth); "bus" multiplies by 2(n-1)/n, the bytes
 * each rank must send and receive in a ring, comparable across rank counts.
 *
 * Not measured here: tokens/s of N ranks against one process with N threads, and the allreduce time
 * the trainer hides behind its backward pass per step (README "What overlaps"). Both need the
 * data-parallel trainer: bench/ddp-train.ts runs `ptflow train` under mpiexec and reports them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parameterShapes } from '../src/engine/model/names';
import { loadMpiBinding } from '../src/distributed/mpi-binding';
import { closeWorld, openWorld } from '../src/distributed/world';
import type { Collective } from '../src/distributed/collective';
import { referenceConfig } from './util/reference-model';
import { median } from './util/stats';

const CHILD_FLAG = '--rank';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** Parameter tensor sizes (elements) of the reference model, in the model's order. */
function gradientSizes(): number[] {
  return [...parameterShapes(referenceConfig()).values()].map((s) => s.reduce((a, b) => a * b, 1));
}

async function timeIt(world: Collective, reps: number, body: () => Promise<void>): Promise<number> {
  await body(); // warm-up (first-touch pages, MPI connection set-up)
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    await world.barrier();
    const t0 = process.hrtime.bigint();
    await body();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}

async function rank(): Promise<void> {
  const world = openWorld(process.env, { announce: null });
  const reps = arg('reps', 10);
  const sizes = gradientSizes();
  const total = sizes.reduce((a, b) => a + b, 0);
  const bytes = total * 4;
  const grad = new Float32Array(total).fill(1 / (world.rank + 1));
  const other = new Float32Array(total).fill(0.5);
  const views: Float32Array[] = [];
  for (let at = 0; at < total; ) {
    const n = sizes[views.length];
    views.push(grad.subarray(at, at + n));
    at += n;
  }
  const bucketElems = (25 << 20) / 4;
  const buckets: Float32Array[] = [];
  for (let at = 0; at < total; at += bucketElems) buckets.push(grad.subarray(at, Math.min(total, at + bucketElems)));

  const local = await timeIt(world, reps, async () => {
    for (let i = 0; i < total; i++) grad[i] = grad[i] + other[i];
  });
  const binding = loadMpiBinding();
  if (!binding.ok) throw new Error(binding.reason);
  binding.binding.setWaitMode('spin');
  const fusedSpin = await timeIt(world, reps, () => world.allreduce(grad, 'mean'));
  const one = new Float32Array(1);
  const latencySpin = await timeIt(world, reps * 10, () => world.allreduce(one, 'sum'));
  binding.binding.setWaitMode('polite');
  const fused = await timeIt(world, reps, () => world.allreduce(grad, 'mean'));
  const bucketed = await timeIt(world, reps, async () => {
    for (const b of buckets) await world.allreduce(b, 'mean');
  });
  const perTensor = await timeIt(world, reps, async () => {
    for (const v of views) await world.allreduce(v, 'mean');
  });
  const latency = await timeIt(world, reps * 10, () => world.allreduce(one, 'sum'));

  // Overlap ceiling: a compute loop calibrated to the fused allreduce's time, alone, the allreduce
  // alone, and both at once (the allreduce on the addon's thread), interleaved in each repetition so
  // that the machine's load drifts alike over the three; the median of the per-repetition shares.
  // Both ranks run the same number of rounds (rank 0's count is broadcast).
  const work = new Float32Array(1 << 16).fill(1.0001);
  const computeFor = (rounds: number): void => {
    for (let r = 0; r < rounds; r++) for (let i = 0; i < work.length; i++) work[i] = work[i] * 0.99991 + 0.0001;
  };
  const probe = await timeIt(world, reps, async () => computeFor(20)); // JIT-warm, as timeIt warms up
  const roundsBuf = Float64Array.of(Math.max(1, Math.round((20 * fused) / probe)));
  await world.broadcast(roundsBuf, 0);
  const rounds = roundsBuf[0];
  const timed = async (body: () => Promise<void>): Promise<number> => {
    await world.barrier();
    const t0 = process.hrtime.bigint();
    await body();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const computeMs: number[] = [];
  const aloneMs: number[] = [];
  const bothMs: number[] = [];
  const hiddenShare: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c = await timed(async () => computeFor(rounds));
    const a = await timed(() => world.allreduce(grad, 'mean'));
    const b = await timed(async () => {
      const pending = world.allreduce(grad, 'mean');
      computeFor(rounds);
      await pending;
    });
    computeMs.push(c);
    aloneMs.push(a);
    bothMs.push(b);
    hiddenShare.push(Math.min(1, Math.max(0, (c + a - b) / a)));
  }
  const [compute, alone, both, hidden] = [computeMs, aloneMs, bothMs, hiddenShare].map(median);

  if (world.rank === 0) {
    const busFactor = (2 * (world.size - 1)) / world.size;
    const line = (name: string, ms: number, calls: number): string =>
      `${name.padEnd(11)} ${ms.toFixed(2).padStart(8)} ms  ${(bytes / ms / 1e6).toFixed(2).padStart(6)} GB/s  bus ${((bytes * busFactor) / ms / 1e6).toFixed(2).padStart(6)} GB/s  ` +
      `${calls} call${calls === 1 ? '' : 's'}  ×${(ms / local).toFixed(2)} the local sum`;
    const out = [
      `ddp transport: ${world.size} ranks (MPI), reference model gradient ${total.toLocaleString('en-US')} float32 = ${(bytes / 2 ** 20).toFixed(1)} MiB, median of ${reps}`,
      `local sum   ${local.toFixed(2).padStart(8)} ms  ${(bytes / local / 1e6).toFixed(2).padStart(6)} GB/s  (baseline: a[i] + b[i] over the same bytes, one rank)`,
      line('fused', fused, Math.ceil(bytes / (16 << 20))),
      line('fused spin', fusedSpin, Math.ceil(bytes / (16 << 20))) + '  (PTFLOW_MPI_WAIT=spin)',
      line('buckets', bucketed, buckets.length),
      line('per-tensor', perTensor, views.length),
      `latency     ${(latency * 1000).toFixed(1).padStart(8)} µs  per 1-element allreduce (spin: ${(latencySpin * 1000).toFixed(1)} µs)`,
      `overlap     compute ${compute.toFixed(1)} ms, fused allreduce ${alone.toFixed(1)} ms, both at once ${both.toFixed(1)} ms: ` +
        `${(100 * hidden).toFixed(0)} % of the allreduce hidden behind compute (median of ${reps}; the most a backward pass could hide here)`,
      TRAINER_RATIO,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
  await closeWorld(world);
}

/** The trainer-side measurement of this benchmark (tokens/s ratio, hidden allreduce fraction). */
const TRAINER_RATIO =
  'tokens/s (N ranks × 1 thread vs 1 process × N threads) and the allreduce the trainer hides: node dist/bench/ddp-train.js (`ptflow train` across ranks)';

function launch(): void {
  const ranks = arg('ranks', 2);
  const mpiexec = ['mpiexec.mpich', 'mpiexec'].find((c) => spawnSync(c, ['--version']).status === 0);
  if (mpiexec === undefined) {
    process.stderr.write('bench/ddp: MPICH mpiexec not found (apt-get install mpich libmpich-dev, then node native/build.js)\n');
    process.exit(2);
  }
  const args = ['-n', String(ranks), process.execPath, path.resolve(__filename), CHILD_FLAG, ...process.argv.slice(2)];
  const r = spawnSync(mpiexec, args, { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

if (process.argv.includes(CHILD_FLAG)) {
  rank().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
} else {
  launch();
}
