/**
 * How much the second core buys: ptflow's training step with 1 thread against N threads (wasm
 * threads and the native kernels' pool), on the scale shapes (util/scale-shapes.ts). Both
 * processes start and take their warm-up step, then their steps alternate (1, N, N, 1, 1, N…),
 * one process running at a time, so a machine shared with other work loads both alike. Prints
 * each shape's step times and the median ratio t(1 thread) / t(N threads), and from the
 * threads' CPU times (util/thread-cpu.ts) the speed-up the work's spread allows on an idle
 * machine: CPU time of the 1-thread step / CPU time of the N-thread step's busiest thread
 * (an upper bound: it assumes the threads never wait for each other beyond that).
 *
 *   node dist/bench/threads.js [--shapes reference,smollm135m-512x4] [--repeats 4] [--threads 2]
 *                              [--checkpointing on|off] [--backend auto] [--layers N] [--json]
 *
 * `--layers N` runs each shape with N decoder layers (a quicker proxy with the same per-layer ops).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { findShape } from './util/scale-shapes';
import { median } from './util/stats';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

interface StepTimes {
  wallMs: number;
  /** CPU time of all threads. */
  totalMs: number;
  /** CPU time of the busiest thread. */
  maxThreadMs: number;
}

/** One scale-step process in --serve mode: `step()` runs one step and resolves its time. */
class StepServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(shape: string, threads: number, checkpointing: string, backend: string, extra: string[]) {
    const script = path.join(__dirname, 'scale-step.js');
    const args = [script, '--shape', shape, '--threads', String(threads), '--checkpointing', checkpointing, '--backend', backend, '--serve', ...extra];
    this.child = spawn(process.execPath, args, { env: { ...process.env, PTFLOW_NATIVE_THREADS: String(threads) } });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async json(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`scale-step exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (r.value.startsWith('{')) return JSON.parse(r.value) as Record<string, unknown>;
    }
  }

  ready(): Promise<Record<string, unknown>> {
    return this.json();
  }

  async step(): Promise<StepTimes> {
    this.child.stdin.write('step\n');
    const r = await this.json();
    return { wallMs: r['stepMs'] as number, totalMs: r['totalMs'] as number, maxThreadMs: r['maxThreadMs'] as number };
  }

  close(): void {
    this.child.stdin.end('exit\n');
  }
}

async function main(): Promise<void> {
  const shapes = arg('shapes', 'reference,smollm135m-512x4').split(',').map(findShape);
  const repeats = Number(arg('repeats', '4'));
  const n = Number(arg('threads', '2'));
  const ck = arg('checkpointing', 'on');
  const backend = arg('backend', 'auto');
  const json = process.argv.includes('--json');
  const extra = process.argv.includes('--layers') ? ['--layers', arg('layers', '1')] : [];
  const rows: Array<Record<string, unknown>> = [];
  if (!json) console.log(`${os.cpus().length} cores; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const s of shapes) {
    const one = new StepServer(s.name, 1, ck, backend, extra);
    // Start one after the other: the warm-up steps should not compete either.
    await one.ready();
    const many = new StepServer(s.name, n, ck, backend, extra);
    await many.ready();
    const s1: StepTimes[] = [];
    const sn: StepTimes[] = [];
    try {
      for (let r = 0; r < repeats; r++) {
        if (r % 2 === 0) {
          s1.push(await one.step());
          sn.push(await many.step());
        } else {
          sn.push(await many.step());
          s1.push(await one.step());
        }
      }
    } finally {
      one.close();
      many.close();
    }
    const t1 = s1.map((x) => x.wallMs);
    const tn = sn.map((x) => x.wallMs);
    const ratio = median(t1) / median(tn);
    const pairRatios = t1.map((t, i) => t / tn[i]);
    const cpu1 = median(s1.map((x) => x.totalMs));
    const cpuN = median(sn.map((x) => x.totalMs));
    const busiest = median(sn.map((x) => x.maxThreadMs));
    const spreadBound = cpu1 / busiest;
    rows.push({ shape: s.name, layers: extra[1], threads: n, checkpointing: ck, oneThread: s1, nThreads: sn, ratio, pairRatios, spreadBound });
    if (!json) {
      console.log(`${s.name}${extra.length > 0 ? ` with ${extra[1]} layers` : ''} (batch ${s.batchSize} × seq ${s.seqLen}, checkpointing ${ck}):`);
      console.log(`  1 thread:  ${t1.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(t1).toFixed(0)})`);
      console.log(`  ${n} threads: ${tn.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(tn).toFixed(0)})`);
      console.log(`  speed-up ${ratio.toFixed(2)}× (median of medians); per interleaved pair ${pairRatios.map((x) => x.toFixed(2)).join(', ')}`);
      console.log(
        `  CPU per step: 1 thread ${cpu1.toFixed(0)} ms; ${n} threads ${cpuN.toFixed(0)} ms in all, busiest thread ${busiest.toFixed(0)} ms ` +
          `→ the spread allows at most ${spreadBound.toFixed(2)}× on an idle machine`,
      );
    }
  }
  if (json) console.log(JSON.stringify({ loadavg: os.loadavg(), rows }));
  else console.log(`load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
