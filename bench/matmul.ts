/**
 * Float32 matmul benchmark: median GFLOP/s of 1024³ products on the chosen backend.
 *
 *   node dist/bench/matmul.js [--backend wasm] [--threads N] [--reps 10] [--native on|off] [--json]
 */
import { initBackend, shutdownBackend } from '../src/engine/backend';
import { applyNativeFlag, parseBenchArgs } from './util/args';
import { describeBackend } from './util/backend-line';
import { measureMatmul } from './util/matmul';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), { steps: 1, reps: 10 });
  applyNativeFlag(args.native);
  const info = await initBackend(args.backend, {
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
    webgpuAllowSoftware: args.allowSoftware,
  });
  const r = measureMatmul(1024, args.reps);
  if (args.json) {
    console.log(JSON.stringify({ backend: info, matmul: r }));
  } else {
    console.log(`backend: ${describeBackend(info)}`);
    for (const n of info.notes) console.log(`  note: ${n}`);
    console.log(`matmul 1024³ float32: ${r.medianMs.toFixed(1)} ms median of ${r.reps} → ${r.gflops.toFixed(1)} GFLOP/s`);
    console.log(`  CPU time ${r.medianCpuMs.toFixed(1)} ms (all threads) → ${r.gflopsPerCpuS.toFixed(1)} GFLOP per CPU-second`);
  }
  await shutdownBackend();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
