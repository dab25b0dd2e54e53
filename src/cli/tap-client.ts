/**
 * `ptflow tap ws://HOST:PORT [--token T] [--json] [--types GLOB,…]`: follows a run's telemetry tap.
 * Prints readable lines (or the events as JSON lines), reconnects with backoff while the run is not
 * reachable (not started yet, restarting after an interruption), and exits 0 once the run stops
 * completed, 1 when it failed, 2 when the tap refuses the token.
 */
import WebSocket from 'ws';
import type { TelemetryEvent } from '../../schemas/telemetry';
import { usageError } from '../errors';
import { globFilter } from '../telemetry/tap/subscription';
import { ActorShares, formatEvent, pipelineLine } from './tap-format';

export interface TapClientOptions {
  token?: string;
  json?: boolean;
  /** Comma-separated glob patterns of event types to show. */
  types?: string;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Seconds between pipeline lines (readable mode). */
  pipelineEverySec?: number;
  /** Backoff bounds in ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** `ws://host:port` (or with `/events`, or an http:// dashboard address) → the stream's URL. */
export function eventsUrl(address: string): URL {
  let u: URL;
  try {
    u = new URL(address.includes('://') ? address : `ws://${address}`);
  } catch {
    throw usageError(`not a tap address: ${address} (expected ws://HOST:PORT)`);
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw usageError(`not a tap address: ${address} (expected ws://HOST:PORT)`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/events';
  return u;
}

const SEEN_KEYS = 50_000;

export function runTapClient(address: string, o: TapClientOptions = {}): Promise<number> {
  const url = eventsUrl(address);
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const patterns = o.types ? o.types.split(',').map((s) => s.trim()).filter(Boolean) : ['*'];
  const show = globFilter(patterns);
  const minBackoff = o.minBackoffMs ?? 250;
  const maxBackoff = o.maxBackoffMs ?? 5000;
  const shares = new ActorShares();
  let lastPipelineAt = 0;
  /** Events already shown (the newest SEEN_KEYS): a reconnect's replay repeats them. */
  const seen = new Set<string>();
  const seenOrder: string[] = [];
  const remember = (k: string): void => {
    seen.add(k);
    seenOrder.push(k);
    if (seenOrder.length > SEEN_KEYS) seen.delete(seenOrder.shift() as string);
  };

  return new Promise<number>((resolve) => {
    let backoff = minBackoff;
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      resolve(code);
    };

    const connect = (): void => {
      const headers: Record<string, string> = o.token ? { Authorization: `Bearer ${o.token}` } : {};
      const ws = new WebSocket(url, { headers });
      let runId: string | null = null;
      /** Frames of the replay still to come on this connection. */
      let replaying = 0;
      ws.on('open', () => {
        backoff = minBackoff;
        // The server filters the live stream; run.* always comes, it says when to stop.
        ws.send(JSON.stringify({ subscribe: patterns.includes('*') ? ['*'] : [...patterns, 'run.*', 'tap.*'] }));
      });
      ws.on('unexpected-response', (_req, res) => {
        const code = res.statusCode ?? 0;
        if (code === 401 || code === 403) {
          err.write(`ptflow tap: ${url.host} refused the connection (${code}${code === 401 ? ': wrong or missing --token' : ''})\n`);
          ws.terminate();
          finish(2);
          return;
        }
        err.write(`ptflow tap: ${url.host} answered ${code}; retrying\n`);
        ws.terminate();
      });
      ws.on('message', (data: Buffer) => {
        let e: TelemetryEvent;
        try {
          e = JSON.parse(data.toString()) as TelemetryEvent;
        } catch {
          return;
        }
        if (e.type === 'tap.hello') {
          // A repeated hello on this connection updates the description (e.g. the graph); say it once.
          if (runId === e.run_id) {
            if (o.json && show(e.type)) print(e);
            return;
          }
          runId = e.run_id;
        }
        let repeat = false;
        if (e.type === 'tap.hello') replaying = (e.data as TelemetryEvent<'tap.hello'>['data']).history.retained;
        else if (!e.type.startsWith('tap.')) {
          const key = `${e.run_id}|${e.type}|${e.ts}|${e.step}|${e.source}`;
          repeat = replaying > 0 && seen.has(key);
          if (replaying > 0) replaying--;
          if (!repeat) remember(key);
        }
        if (!repeat && show(e.type)) print(e);
        if (e.type === 'run.stop' && e.run_id === runId && !repeat) {
          const status = (e.data as TelemetryEvent<'run.stop'>['data']).status;
          if (status === 'completed') finishAfterClose(ws, 0);
          else if (status === 'failed') finishAfterClose(ws, 1);
          // interrupted: the run may be restarted; keep following.
        }
      });
      ws.on('error', () => undefined); // 'close' follows and reconnects
      ws.on('close', () => {
        if (finished) return;
        const wait = backoff;
        backoff = Math.min(maxBackoff, backoff * 2);
        if (runId !== null) err.write(`ptflow tap: disconnected; reconnecting to ${url.host}…\n`);
        setTimeout(connect, wait);
      });
    };

    const finishAfterClose = (ws: WebSocket, code: number): void => {
      finished = true;
      ws.close();
      resolve(code);
    };

    const print = (e: TelemetryEvent): void => {
      if (o.json) {
        out.write(JSON.stringify(e) + '\n');
        return;
      }
      if (e.type === 'actor.counters') {
        shares.add(e as TelemetryEvent<'actor.counters'>);
        const every = (o.pipelineEverySec ?? 10) * 1000;
        if (e.ts - lastPipelineAt >= every) {
          const line = pipelineLine(shares.current());
          if (line) {
            lastPipelineAt = e.ts;
            out.write(line + '\n');
          }
        }
        return;
      }
      const line = formatEvent(e);
      if (line !== null) out.write(line + '\n');
    };

    connect();
  });
}
