/**
 * The tap's dashboard in a real headless browser (Debian's chromium, driven by playwright-core;
 * `.ci/run` installs chromium). Against a tap fed step by step: the page connects, its charts and
 * pipeline graph grow as events arrive, a bad token shows an error, and after the run restarts on
 * the same port the page reconnects and continues the same curve. Against a real `ptflow train`:
 * the page follows the run, and its screenshot is the README's (docs/tap-dashboard.png).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TELEMETRY_VERSION, type ActorCounters } from '../schemas/telemetry';
import { TelemetryBus } from '../src/telemetry/bus';
import { startTapServer, type TapServer } from '../src/telemetry/tap/server';
import { CLI, ROOT, pngSize, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const CHROMIUM = process.env.PTFLOW_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'dash-token';

const GRAPH = {
  actors: [
    { name: 'DatasetShardActor', inputs: [], outputs: ['docs'] },
    { name: 'TokenizerActor', inputs: ['docs'], outputs: ['tokens'] },
    { name: 'CollatorActor', inputs: ['tokens'], outputs: ['train', 'eval'] },
    { name: 'TrainerActor', inputs: ['train', 'eval'], outputs: [] },
  ],
  edges: [
    { from: 'DatasetShardActor.docs', to: 'TokenizerActor.docs', schema: 'RawDocs', window: 4 },
    { from: 'TokenizerActor.tokens', to: 'CollatorActor.tokens', schema: 'TokenizedDocs', window: 4 },
    { from: 'CollatorActor.train', to: 'TrainerActor.train', schema: 'TrainBatch', window: 4 },
    { from: 'CollatorActor.eval', to: 'TrainerActor.eval', schema: 'TrainBatch', window: 16 },
  ],
};

const counters = (busyMs: number, waitingForInputMs: number, blockedOnOutputMs: number, queueDepth = 0): ActorCounters => ({
  messagesIn: 1, bytesIn: 1, messagesOut: 1, bytesOut: 1, busyMs, waitingForInputMs, blockedOnOutputMs, queueDepth, maxQueueDepth: queueDepth, restarts: 0,
  wallMs: busyMs + waitingForInputMs + blockedOnOutputMs,
});

function steps(bus: TelemetryBus, from: number, to: number, lossAt: (n: number) => number): void {
  for (let n = from; n <= to; n++) {
    bus.emit('train.step', {
      loss: lossAt(n), learning_rate: 1e-3 * (1 - n / 100), grad_norm: 1, epoch: n / 100, tokens: 128, tokens_per_second: 1000 + n,
      step_time_ms: 90, data_wait_ms: 10, total_steps: 100,
    }, { step: n });
  }
}

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the dashboard test needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
}

const stateOf = (page: Page) =>
  page.evaluate(() => {
    const s = (globalThis as unknown as { ptflowTap: { runId: string; steps: number; train: { x: number; y: number }[]; status: string; error: string | null } }).ptflowTap;
    const chart = (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart.getChart('loss');
    return { runId: s.runId, steps: s.steps, xs: s.train.map((p) => p.x), ys: s.train.map((p) => p.y), status: s.status, error: s.error, drawn: chart.data.datasets[0].data.length };
  });

describe('tap dashboard in a headless browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('connects, grows its charts and graph as events arrive, shows a bad token, and continues across a restart', async () => {
    const bus = new TelemetryBus('run-one');
    const hello = (run: string) => () => ({ protocol: 1 as const, command: 'train' as const, config: { run }, model_parameters: 514352, backend: 'wasm', graph: GRAPH });
    let tap: TapServer = await startTapServer({ bus, host: '127.0.0.1', port: 0, token: TOKEN, maxClients: 4, hello: hello('one') });
    const base = `http://127.0.0.1:${tap.port}`;
    const page = await browser.newPage();
    try {
      steps(bus, 1, 5, (n) => 5 - n * 0.1);
      await page.goto(`${base}/?token=${TOKEN}`);
      await page.waitForFunction(() => (globalThis as unknown as { ptflowTap: { steps: number } }).ptflowTap.steps === 5);
      await page.waitForFunction(() => (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart.getChart('loss').data.datasets[0].data.length === 5);
      expect(await page.textContent('#status')).toBe('live');
      expect(await page.textContent('#run')).toContain('0.51M parameters');

      // Counters one second apart: the shares are the differences over 1000 ms.
      const t0 = Date.now();
      const sample = (ts: number, actor: string, c: ActorCounters) => bus.publish({ v: TELEMETRY_VERSION, type: 'actor.counters', ts, run_id: 'run-one', step: null, source: actor, data: { actor, counters: c, finished: false, ports: [] } });
      sample(t0, 'TokenizerActor', counters(1000, 500, 100, 2));
      sample(t0, 'TrainerActor', counters(3000, 200, 0));
      sample(t0 + 1000, 'TokenizerActor', counters(1800, 600, 150, 3)); // busy 80%, waiting 10%, blocked 5%
      sample(t0 + 1000, 'TrainerActor', counters(3300, 900, 0)); // busy 30%, waiting 70%
      steps(bus, 6, 10, (n) => 5 - n * 0.1);
      await page.waitForFunction(() => (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart.getChart('loss').data.datasets[0].data.length === 10);
      await page.waitForSelector('g.actor[data-actor="TokenizerActor"][data-busy]');
      const tok = page.locator('g.actor[data-actor="TokenizerActor"]');
      expect(await tok.getAttribute('data-busy')).toBe('0.800');
      expect(await tok.getAttribute('data-waiting')).toBe('0.100');
      expect(await tok.getAttribute('data-blocked')).toBe('0.050');
      expect(await tok.getAttribute('class')).toContain('bottleneck');
      expect(await page.locator('g.actor[data-actor="TrainerActor"]').getAttribute('data-waiting')).toBe('0.700');
      expect(await page.locator('g.actor').count()).toBe(4);
      expect(await tok.textContent()).toContain('queue 3');

      // A bad token: the page says so instead of showing nothing.
      const bad = await browser.newPage();
      const res = await bad.goto(`${base}/?token=wrong`);
      expect(res?.status()).toBe(401);
      expect(await bad.textContent('#refused')).toBe('ptflow tap: 401');
      await bad.close();

      // The run restarts (a new process: new bus, same port) resumed from step 8; the page reconnects
      // and continues the curve, the resumed steps replacing the old 8..10.
      const port = tap.port;
      await tap.close(100);
      await page.waitForFunction(() => (globalThis as unknown as { ptflowTap: { status: string } }).ptflowTap.status === 'down');
      const bus2 = new TelemetryBus('run-two');
      steps(bus2, 8, 12, (n) => 4 - n * 0.1);
      tap = await startTapServer({ bus: bus2, host: '127.0.0.1', port, token: TOKEN, maxClients: 4, hello: hello('two') });
      await page.waitForFunction(() => (globalThis as unknown as { ptflowTap: { runId: string; steps: number } }).ptflowTap.runId === 'run-two', undefined, { timeout: 15_000 });
      await page.waitForFunction(() => (globalThis as unknown as { ptflowTap: { steps: number } }).ptflowTap.steps === 12);
      const s = await stateOf(page);
      expect(s.xs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(s.ys[6]).toBeCloseTo(5 - 0.7, 10);
      expect(s.ys[7]).toBeCloseTo(4 - 0.8, 10); // step 8 is the resumed run's
      expect(s.status).toBe('live');
    } finally {
      await page.close();
      await tap.close(100);
    }
  }, 90_000);

  it('follows a real ptflow train run; its screenshot is docs/tap-dashboard.png', async () => {
    const dir = tmpDir('ptflow-dash-');
    const model = tinyModelDir(dir, { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 });
    const data = tinyDataset(dir, 40);
    const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'kjv',
      dataset_dir: data, cutoff_len: 64, val_size: 4, output_dir: path.join(dir, 'out'), per_device_train_batch_size: 4,
      per_device_eval_batch_size: 4, learning_rate: 0.005, max_steps: 60, lr_scheduler_type: 'cosine', warmup_steps: 5,
      logging_steps: 5, eval_strategy: 'steps', eval_steps: 15, save_strategy: 'no', seed: 1, tap_port: 0, tap_token: TOKEN,
    });
    const train = spawn(process.execPath, [CLI, 'train', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((r) => train.on('close', r));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        train.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          const m = /dashboard (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
          if (m) resolve(m[1]);
        });
        void exited.then((code) => reject(new Error(`train exited ${code} before printing the tap address:\n${stderr}`)));
      });
      await page.goto(`${base}/?token=${TOKEN}`);
      await page.waitForFunction(() => (globalThis as unknown as { ptflowTap: { ended: string | null } }).ptflowTap.ended === 'completed', undefined, { timeout: 120_000 });
      // The charts redraw once a second: wait for the redraw after the last events (however late its timer fires).
      await page.waitForFunction(
        () => (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart.getChart('loss').data.datasets[0].data.length >= 60,
        undefined,
        { timeout: 30_000 },
      );
      const s = await stateOf(page);
      expect(s.xs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(s.drawn).toBe(60);
      // map mode's default graph: the run's own token cache feeds the trainer
      const actors = await page.locator('g.actor').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-actor')).sort());
      expect(actors).toEqual(['CacheBlockActor', 'TrainerActor']);
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      const shot = path.join(ROOT, 'docs', 'tap-dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(pngSize(shot).width).toBe(1280);
      expect(await exited).toBe(0);
    } finally {
      await page.close();
      train.kill();
    }
  }, 180_000);
});
