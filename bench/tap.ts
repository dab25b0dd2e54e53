/**
 * What the telemetry tap costs a run, measured in one run against the same run without it.
 *
 * 1. Step time: the reference training step runs in a worker thread (as TrainerActor does), posting
 *    a train.step per step; the main thread publishes them and, like a run, 5 actors' counters and
 *    memory every second. Rounds alternate (interleaved, the order flipped every pair) between no tap
 *    and a tap with `--clients` clients (in a child process) subscribed to everything. Prints the
 *    median step time of each and their ratio (target ≤ 1.02).
 * 2. Memory: events flow at `--rate` per second for `--slow-seconds` to one reading client, then as
 *    long with a second client that never reads (its stuck timeout set beyond the test, so only its
 *    bounded buffer holds memory). Prints the server's RSS growth in each from the same starting point
 *    (target ≤ 16 MB with the never-reading client).
 *
 *   node dist/bench/tap.js [--rounds 4] [--steps 3] [--clients 50] [--threads N]
 *                          [--slow-seconds 60] [--rate 200] [--only step|memory]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { ActorCounters } from '../schemas/telemetry';
import { TelemetryBus } from '../src/telemetry/bus';
import { DEFAULT_LIMITS, startTapServer, type TapServer } from '../src/telemetry/tap/server';
import type { StepWorkerOut } from './util/tap-step-worker';
import { median } from './util/stats';

v8.setFlagsFromString('--expose-gc');
/** A full collection, so RSS shows what is retained rather than garbage not yet collected. */
const fullGc = vm.runInNewContext('gc') as () => void;

const ACTORS = ['DatasetShardActor', 'TokenizerActor', 'CollatorActor', 'TrainerActor', 'EvaluatorActor'];
const MB = 1e6;

function flags() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '4' }, steps: { type: 'string', default: '3' }, clients: { type: 'string', default: '50' },
      threads: { type: 'string' }, 'slow-seconds': { type: 'string', default: '60' }, rate: { type: 'string', default: '200' },
      only: { type: 'string' },
    },
    strict: true,
  });
  const int = (k: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${k}: expected a positive integer, got ${v}`);
    return n;
  };
  return {
    rounds: int('rounds', values.rounds), steps: int('steps', values.steps), clients: int('clients', values.clients),
    threads: values.threads === undefined ? undefined : int('threads', values.threads),
    slowSeconds: int('slow-seconds', values['slow-seconds']), rate: int('rate', values.rate), only: values.only,
  };
}

const counters = (t: number): ActorCounters => ({
  messagesIn: t, bytesIn: t * 1000, messagesOut: t, bytesOut: t * 1000, busyMs: t * 10, waitingForInputMs: t * 5, blockedOnOutputMs: t,
  queueDepth: t % 4, maxQueueDepth: 4, restarts: 0, wallMs: t * 16,
});

/** What a run's workers sample every second. */
function sampleActors(bus: TelemetryBus, t: number): void {
  for (const actor of ACTORS) {
    bus.emit('actor.counters', { actor, counters: counters(t), finished: false, ports: [] }, { source: actor });
    bus.emit('memory', { rss: 5e8, heapUsed: 4e7 + t, external: 1e6, arrayBuffers: 1e6, thread: actor }, { source: actor });
  }
}

const hello = () => ({ protocol: 1 as const, command: 'train' as const, config: {}, model_parameters: null, backend: 'wasm', graph: null });

async function withClients(url: string, n: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(__dirname, 'util', 'tap-clients.js'), `${url}/events`, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the clients exited (${code}) before all were greeted`)));
  });
  return child;
}

async function stepTime(o: ReturnType<typeof flags>): Promise<void> {
  const bus = new TelemetryBus('bench-tap');
  const worker = new Worker(path.join(__dirname, 'util', 'tap-step-worker.js'), { workerData: { threads: o.threads } });
  let roundDone: ((ms: number[]) => void) | null = null;
  const ready = new Promise<void>((r) => {
    worker.on('message', (m: StepWorkerOut) => {
      if (m.t === 'ready') r();
      else if (m.t === 'event') {
        bus.emit('train.step', {
          loss: m.loss, learning_rate: 1e-3, grad_norm: 1, epoch: 0, tokens: 1024, tokens_per_second: 1024 / (m.ms / 1000),
          step_time_ms: m.ms, data_wait_ms: 0, total_steps: 1000,
        }, { step: m.step, source: 'TrainerActor' });
      } else if (m.t === 'round') roundDone?.(m.ms);
    });
  });
  await ready;
  let tick = 0;
  const sampler = setInterval(() => sampleActors(bus, ++tick), 1000);
  const round = (): Promise<number[]> =>
    new Promise((r) => {
      roundDone = r;
      worker.postMessage({ steps: o.steps });
    });

  const times: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const perRound: string[] = [];
  for (let pair = 0; pair < o.rounds; pair++) {
    for (const cond of pair % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      let tap: TapServer | null = null;
      let clients: ChildProcess | null = null;
      if (cond === 'on') {
        tap = await startTapServer({ bus, host: '127.0.0.1', port: 0, token: null, maxClients: o.clients, hello });
        clients = await withClients(tap.url, o.clients);
      }
      const ms = await round();
      times[cond].push(...ms);
      perRound.push(`${cond} ${median(ms).toFixed(0)}`);
      if (clients) {
        clients.kill('SIGTERM');
        await new Promise((r) => clients!.once('exit', r));
      }
      await tap?.close(200);
    }
  }
  clearInterval(sampler);
  await worker.terminate();
  const off = median(times.off);
  const on = median(times.on);
  console.log(`step time, reference step (${o.steps} steps × ${o.rounds} rounds each, interleaved): per-round medians ms: ${perRound.join(', ')}`);
  console.log(`  no tap: median ${off.toFixed(1)} ms; tap with ${o.clients} clients subscribed to everything: median ${on.toFixed(1)} ms`);
  console.log(`  ratio tap / no tap: ${(on / off).toFixed(4)} (target ≤ 1.02)`);
}

/** Opens a WebSocket on /events and never reads a byte (not even the 101 answer). */
function neverReadingClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(
        'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      s.pause();
      resolve(s);
    });
    s.on('error', reject);
  });
}

/**
 * Publishes `rate` events/s (half train.step, half 2 KB log lines) for `seconds`; returns the peak
 * RSS − `rss0`, and the RSS after a full collection at the end − `rss0`.
 */
async function flow(bus: TelemetryBus, seconds: number, rate: number, rss0 = process.memoryUsage().rss): Promise<{ peak: number; settled: number }> {
  let peak = rss0;
  let step = 0;
  let lastSec = -1;
  const t0 = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // As many as the elapsed time calls for: a late timer does not lower the rate.
      const due = Math.floor((rate * (Date.now() - t0)) / 1000);
      while (step < due) {
        step++;
        if (step % 2 === 0) bus.emit('log', { level: 'info', message: `step ${step}: ` + 'x'.repeat(2000) });
        else bus.emit('train.step', { loss: 1 / step, learning_rate: 1e-3, grad_norm: 1, epoch: 0, tokens: 1024, tokens_per_second: 5000, step_time_ms: 5, data_wait_ms: 0, total_steps: 1e9 }, { step });
      }
      const sec = Math.floor((Date.now() - t0) / 1000);
      if (sec !== lastSec) {
        lastSec = sec;
        sampleActors(bus, step); // as the actors sample their counters, once a second
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      if (Date.now() - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const achieved = step / ((Date.now() - t0) / 1000);
  fullGc();
  fullGc();
  const settled = process.memoryUsage().rss;
  console.log(
    `  ${step} events in ${seconds} s (${achieved.toFixed(0)}/s): RSS ${(rss0 / MB).toFixed(1)} → peak ${(peak / MB).toFixed(1)} MB ` +
      `(+${((peak - rss0) / MB).toFixed(1)}), after a full GC ${(settled / MB).toFixed(1)} MB (+${((settled - rss0) / MB).toFixed(1)})`,
  );
  return { peak: peak - rss0, settled: settled - rss0 };
}

async function memory(o: ReturnType<typeof flags>): Promise<void> {
  const bus = new TelemetryBus('bench-mem');
  const tap = await startTapServer({
    bus, host: '127.0.0.1', port: 0, token: null, maxClients: 4, hello,
    limits: { ...DEFAULT_LIMITS, stuckTimeoutMs: (o.slowSeconds + 60) * 1000 },
  });
  // One client that reads (in its own process) throughout: events are serialised in both phases, so
  // the difference is what the never-reading client holds.
  const reader = await withClients(tap.url, 1);
  console.log(`memory: ${o.rate} events/s for ${o.slowSeconds} s with one reading client, then as long with a never-reading one besides`);
  // Warm-up: the history filled to its bounds (its growth is not the client's), code paths compiled.
  for (let i = 0; i < 2 * (bus.retained.limits.maxEvents + bus.retained.limits.maxCurvePoints); i++) {
    bus.emit('log', { level: 'info', message: `fill ${i}: ` + 'x'.repeat(2000) });
    bus.emit('train.step', { loss: 1, learning_rate: 1e-3, grad_norm: 1, epoch: 0, tokens: 1024, tokens_per_second: 5000, step_time_ms: 5, data_wait_ms: 0, total_steps: 1e9 }, { step: i });
  }
  await flow(bus, 5, o.rate);
  // Both phases are measured from the same RSS, after the warm-up and a full collection.
  fullGc();
  const start = process.memoryUsage().rss;
  const base = await flow(bus, o.slowSeconds, o.rate, start);
  const client = await neverReadingClient(tap.port);
  const growth = await flow(bus, o.slowSeconds, o.rate, start);
  const bytes = (n: number): string => `${(n / MB).toFixed(1)} MB`;
  console.log(`  per-client bounds: socket ${bytes(DEFAULT_LIMITS.maxBufferedBytes)} + queue ${bytes(DEFAULT_LIMITS.maxQueuedBytes)}`);
  console.log(`  never-reading client still connected: ${tap.clientCount() === 2}`);
  console.log(`  server RSS growth, peak: ${bytes(growth.peak)} with it vs ${bytes(base.peak)} without (target ≤ 16 MB)`);
  console.log(`  server RSS growth, after a full GC: ${bytes(growth.settled)} with it vs ${bytes(base.settled)} without`);
  client.destroy();
  reader.kill('SIGTERM');
  await tap.close(100);
}

async function main(): Promise<void> {
  const o = flags();
  if (o.only !== 'memory') await stepTime(o);
  if (o.only !== 'step') await memory(o);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
