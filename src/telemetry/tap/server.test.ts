import http from 'node:http';
import WebSocket from 'ws';
import { TELEMETRY_VERSION, type TelemetryEvent } from '../../../schemas/telemetry';
import { TelemetryBus } from '../bus';
import { startTapServer, type TapServer, type TapServerOptions } from './server';

const servers: TapServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(50)));
});

async function tap(bus: TelemetryBus, o: Partial<TapServerOptions> = {}): Promise<TapServer> {
  const s = await startTapServer({
    bus, host: '127.0.0.1', port: 0, token: null, maxClients: 32,
    hello: () => ({ protocol: 1, command: 'train', config: { max_steps: 3 }, model_parameters: 1234, backend: 'cpu', graph: null }),
    ...o,
  });
  servers.push(s);
  return s;
}

/** A client that records every event; `until(n)` waits for n of them. */
class Recorder {
  readonly events: TelemetryEvent[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.events.push(JSON.parse(d.toString()) as TelemetryEvent);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async until(pred: (evs: TelemetryEvent[]) => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.events)) {
      if (Date.now() > end) throw new Error(`timed out; got ${this.events.map((e) => e.type).join(',')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
}

function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<Recorder> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    const r = new Recorder(ws);
    ws.once('open', () => resolve(r));
    ws.once('error', reject);
  });
}

/** The HTTP status a refused upgrade gets. */
function refusedWith(url: string, opts: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    }).on('error', reject);
  });
}

const step = (bus: TelemetryBus, n: number, loss = 1 / n): void =>
  bus.emit('train.step', { loss, learning_rate: 1e-3, grad_norm: 1, epoch: 0, tokens: 10, tokens_per_second: 100, step_time_ms: 5, data_wait_ms: 1, total_steps: 99 }, { step: n });

describe('tap authentication and origin', () => {
  it('answers 401 before the upgrade without a token or with a wrong one, and lets the right one in', async () => {
    const bus = new TelemetryBus('run-auth');
    const s = await tap(bus, { token: 's3cret' });
    expect(await refusedWith(`${s.url}/events`)).toBe(401);
    expect(await refusedWith(`${s.url}/events?token=wrong`)).toBe(401);
    expect(await refusedWith(`${s.url}/events`, { headers: { Authorization: 'Bearer s3cret-not' } })).toBe(401);
    // A right query token does not rescue a wrong header (the header is what is checked when present).
    expect(await refusedWith(`${s.url}/events?token=s3cret`, { headers: { Authorization: 'Bearer nope' } })).toBe(401);
    const byHeader = await open(`${s.url}/events`, { headers: { Authorization: 'Bearer s3cret' } });
    const byQuery = await open(`${s.url}/events?token=s3cret`);
    await byHeader.until((e) => e.length >= 1);
    await byQuery.until((e) => e.length >= 1);
    expect(byHeader.types()[0]).toBe('tap.hello');
    expect(byQuery.types()[0]).toBe('tap.hello');
    // The dashboard page follows the same rule; its script does not need the token (no run data in it).
    expect((await get(s.url.replace('ws:', 'http:') + '/')).status).toBe(401);
    expect((await get(s.url.replace('ws:', 'http:') + '/?token=s3cret')).status).toBe(200);
    expect((await get(s.url.replace('ws:', 'http:') + '/app.js')).status).toBe(200);
    byHeader.ws.close();
    byQuery.ws.close();
  });

  it("refuses a browser origin that is not the tap's own", async () => {
    const s = await tap(new TelemetryBus('run-origin'));
    const host = `127.0.0.1:${s.port}`;
    expect(await refusedWith(`${s.url}/events`, { headers: { Origin: 'http://evil.example' } })).toBe(403);
    expect(await refusedWith(`${s.url}/events`, { headers: { Origin: `http://evil.example:${s.port}` } })).toBe(403);
    expect(await refusedWith(`${s.url}/events`, { headers: { Origin: `http://127.0.0.1:${s.port + 1}` } })).toBe(403);
    expect(await refusedWith(`${s.url}/events`, { headers: { Origin: 'null' } })).toBe(403);
    const own = await open(`${s.url}/events`, { headers: { Origin: `http://${host}` } });
    const viaLocalhost = await open(`${s.url}/events`, { headers: { Origin: `http://localhost:${s.port}` } });
    own.ws.close();
    viaLocalhost.ws.close();
    expect(await refusedWith(`${s.url}/other`)).toBe(404);
  });

  it('refuses clients beyond tap_max_clients', async () => {
    const s = await tap(new TelemetryBus('run-max'), { maxClients: 2 });
    const a = await open(`${s.url}/events`);
    const b = await open(`${s.url}/events`);
    expect(await refusedWith(`${s.url}/events`)).toBe(503);
    a.ws.close();
    await new Promise((r) => a.ws.once('close', r));
    // the server counts a client out when it sees the close, which may come after the client's own event
    for (const until = Date.now() + 10_000; s.clientCount() > 1 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    expect(s.clientCount()).toBe(1);
    const c = await open(`${s.url}/events`);
    b.ws.close();
    c.ws.close();
  });
});

describe('tap protocol', () => {
  it('greets with tap.hello, replays the history to a late joiner, then streams live', async () => {
    const bus = new TelemetryBus('run-replay');
    const s = await tap(bus);
    bus.emit('run.start', { config: { tap_token: 'never-sent', max_steps: 3 }, output_dir: '/tmp/x' });
    step(bus, 1);
    step(bus, 2);
    const c = await open(`${s.url}/events`);
    await c.until((e) => e.length >= 3);
    step(bus, 3);
    await c.until((e) => e.length >= 5);
    expect(c.types()).toEqual(['tap.hello', 'run.start', 'train.step', 'train.step', 'train.step']);
    expect(c.events.slice(2).map((e) => e.step)).toEqual([1, 2, 3]);
    const hello = c.events[0] as TelemetryEvent<'tap.hello'>;
    expect(hello.run_id).toBe('run-replay');
    expect(hello.v).toBe(TELEMETRY_VERSION);
    expect(hello.data).toMatchObject({ protocol: 1, command: 'train', model_parameters: 1234, backend: 'cpu', history: { retained: 3, train_step_stride: 1 } });
    // Every frame is the schema's event shape; the token in run.start's config is not sent.
    for (const e of c.events) expect(Object.keys(e).sort()).toEqual(['data', 'run_id', 'source', 'step', 'ts', 'type', 'v']);
    expect((c.events[1] as TelemetryEvent<'run.start'>).data.config.tap_token).toBe('<redacted>');
    c.ws.close();
  });

  it('replays a long run thinned: the whole loss curve at reduced resolution', async () => {
    const bus = new TelemetryBus('run-long', { maxEvents: 16, maxCurvePoints: 8 });
    const s = await tap(bus);
    for (let n = 0; n < 20; n++) step(bus, n);
    const c = await open(`${s.url}/events`);
    await c.until((e) => e.length >= 9);
    // Worked as in history.test.ts: newest 4 whole, steps 0..15 kept every 4th.
    expect(c.events.slice(1).map((e) => e.step)).toEqual([0, 4, 8, 12, 16, 17, 18, 19]);
    expect((c.events[0] as TelemetryEvent<'tap.hello'>).data.history).toEqual({ max_events: 16, max_curve_points: 8, retained: 8, train_step_stride: 4 });
    c.ws.close();
  });

  it('filters the live stream by the globs a client subscribes to', async () => {
    const bus = new TelemetryBus('run-sub');
    const s = await tap(bus);
    const c = await open(`${s.url}/events`);
    c.ws.send(JSON.stringify({ subscribe: ['actor.*', 'eval.result'] }));
    c.ws.send('barrier'); // answered in order: once its tap.error is back, the subscription is in force
    await c.until((e) => e.some((x) => x.type === 'tap.error'));
    step(bus, 1);
    bus.emit('actor.counters', { actor: 'A', counters: { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, busyMs: 0, waitingForInputMs: 0, blockedOnOutputMs: 0, queueDepth: 0, maxQueueDepth: 0, restarts: 0, wallMs: 0 }, finished: false, ports: [] });
    bus.emit('actor.start', { actor: 'A', thread: 'w' });
    bus.emit('log', { level: 'info', message: 'x' });
    bus.emit('eval.result', { eval_loss: 1, eval_perplexity: Math.E, eval_runtime: 1, eval_samples: 2, epoch: 0 }, { step: 1 });
    await c.until((e) => e.some((x) => x.type === 'eval.result'));
    expect(c.types()).toEqual(['tap.hello', 'tap.error', 'actor.counters', 'actor.start', 'eval.result']);
    c.ws.send(JSON.stringify({ subscribe: ['*'] }));
    c.ws.send('barrier');
    await c.until((e) => e.filter((x) => x.type === 'tap.error').length === 2);
    bus.emit('log', { level: 'info', message: 'y' });
    await c.until((e) => e.some((x) => x.type === 'log'));
    c.ws.close();
  });

  it('answers malformed and oversized messages with tap.error and goes on streaming', async () => {
    const bus = new TelemetryBus('run-bad');
    const s = await tap(bus);
    const c = await open(`${s.url}/events`);
    const bad = ['not json', '{"subscribe": "train.step"}', '{"subscribe": ["train.step"], "extra": 1}', '[1,2]', JSON.stringify({ subscribe: ['x'.repeat(5000)] })];
    for (const m of bad) c.ws.send(m);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.until((e) => e.filter((x) => x.type === 'tap.error').length === bad.length + 1);
    const errors = c.events.filter((x) => x.type === 'tap.error').map((x) => (x.data as { message: string }).message);
    expect(errors[0]).toMatch(/^not JSON/);
    expect(errors[1]).toMatch(/expected \{"subscribe": \[glob, …\]\}: subscribe:/);
    expect(errors[2]).toMatch(/extra/);
    expect(errors[4]).toMatch(/over the limit of 4096/);
    expect(errors[5]).toMatch(/binary/);
    step(bus, 7);
    await c.until((e) => e.some((x) => x.type === 'train.step'));
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });
});

describe('slow clients', () => {
  const big = (bus: TelemetryBus, i: number): void => bus.emit('log', { level: 'info', message: `${i} ` + 'x'.repeat(8000) });

  it('drops what a client cannot take, tells it how many, and the count adds up', async () => {
    const bus = new TelemetryBus('run-slow', 4);
    const s = await tap(bus, { limits: { maxBufferedBytes: 32 * 1024, maxQueuedFrames: 50, stuckTimeoutMs: 60_000 } });
    const c = await open(`${s.url}/events`);
    await c.until((e) => e.length >= 1);
    c.ws.pause();
    const sent = 3000; // ~24 MB: more than the kernel's socket buffers hold
    for (let i = 0; i < sent; i++) big(bus, i);
    await new Promise((r) => setTimeout(r, 300));
    c.ws.resume();
    let dropped = 0;
    await c.until((e) => {
      dropped = e.filter((x) => x.type === 'tap.dropped').reduce((a, x) => a + (x.data as { dropped: number }).dropped, 0);
      return e.filter((x) => x.type === 'log').length + dropped === sent;
    }, 20_000);
    expect(dropped).toBeGreaterThan(0);
    // Each notice stands exactly where its gap is: between two received events i and j it says j - i - 1.
    let last = -1;
    let gap = 0;
    for (const e of c.events.slice(1)) {
      if (e.type === 'tap.dropped') gap += (e.data as { dropped: number }).dropped;
      else {
        const i = Number((e.data as { message: string }).message.split(' ')[0]);
        expect(i - last - 1).toBe(gap);
        last = i;
        gap = 0;
      }
    }
    expect(sent - 1 - last).toBe(gap);
    expect(s.clientCount()).toBe(1);
    c.ws.close();
  }, 30_000);

  it('disconnects a client stuck above its buffer for longer than the timeout; others are unaffected', async () => {
    const bus = new TelemetryBus('run-stuck', 4);
    const s = await tap(bus, { limits: { maxBufferedBytes: 32 * 1024, maxQueuedFrames: 50, stuckTimeoutMs: 300 }, tickMs: 50 });
    const stuck = await open(`${s.url}/events`);
    const reader = await open(`${s.url}/events`);
    await stuck.until((e) => e.length >= 1);
    stuck.ws.pause();
    const logs = (r: Recorder): number => r.events.filter((x) => x.type === 'log').length;
    const t0 = Date.now();
    let i = 0;
    // Paced by the reader, not by the clock: it is never more than 20 frames behind (its queue holds
    // 50), however slowly a loaded machine runs this process, while the paused one falls behind for good.
    while (s.clientCount() === 2 && Date.now() - t0 < 20_000) {
      for (let k = 0; k < 20; k++) big(bus, i++);
      await reader.until((e) => logs(reader) === i || e.some((x) => x.type === 'tap.dropped'));
    }
    expect(s.clientCount()).toBe(1);
    const closed = new Promise((r) => stuck.ws.once('close', r));
    stuck.ws.resume();
    await closed;
    // The reading client got everything, in order, and is still connected.
    expect(reader.types().filter((t) => t === 'tap.dropped')).toEqual([]);
    const got = reader.events.filter((x) => x.type === 'log').map((x) => Number((x.data as { message: string }).message.split(' ')[0]));
    expect(got).toEqual(Array.from({ length: i }, (_, k) => k));
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
    reader.ws.close();
  }, 40_000);
});
