/**
 * The telemetry tap: one HTTP server that upgrades `GET /events` to a WebSocket stream of the bus's
 * events and serves the dashboard at `GET /`. Protocol (README "Telemetry tap"):
 *
 *   connect  /events (token as `Authorization: Bearer` or `?token=`; 401 before the upgrade when wrong)
 *   ← tap.hello, then the retained history (replay), then live events, one JSON text frame each
 *   → {"subscribe": ["train.step", "actor.*"]}    (replaces the filter; bad input → ← tap.error)
 *
 * The bus delivers each event once to this server, which serialises it once and hands the same
 * bytes to every client's bounded buffer (client-buffer.ts). Nothing here can make a publisher wait.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { TELEMETRY_VERSION, type TapHelloPayload, type TelemetryEvent, type TelemetryPayloads } from '../../../schemas/telemetry';
import type { TelemetryBus } from '../bus';
import { originAllowed, presentedToken, tokenMatches } from './auth';
import { ClientBuffer, type ClientBufferLimits } from './client-buffer';
import { serveDashboard } from './dashboard/serve';
import { frameOf } from './frame';
import { globFilter, parseClientMessage, type Filter } from './subscription';

export interface TapServerOptions {
  bus: TelemetryBus;
  host: string;
  /** 0 = any free port. */
  port: number;
  token: string | null;
  maxClients: number;
  /** The hello's payload, built when a client connects (what is known about the run then). */
  hello: () => Omit<TapHelloPayload, 'history'>;
  limits?: Partial<ClientBufferLimits>;
  /** How often slow clients' queues are moved on and stuck ones found. */
  tickMs?: number;
}

export interface TapServer {
  /** `ws://host:port` (the stream is at `/events`, the dashboard at `http://host:port/`). */
  readonly url: string;
  readonly port: number;
  clientCount(): number;
  /** Sends every client a fresh `tap.hello` (what it describes changed, e.g. the pipeline was built). */
  announce(): void;
  /** Stops accepting, lets each client receive what is queued for up to `graceMs`, then closes. */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_LIMITS: ClientBufferLimits = { maxBufferedBytes: 1 << 20, maxQueuedFrames: 4096, maxQueuedBytes: 1 << 20, stuckTimeoutMs: 10_000 };
/** Above this the connection is closed by ws itself (1009); under it a too-long message gets a tap.error. */
const HARD_MAX_PAYLOAD = 64 * 1024;

interface Client {
  ws: WebSocket;
  buffer: ClientBuffer;
  filter: Filter;
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const body = reason + '\n';
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
  socket.end(head.join('\r\n') + '\r\n\r\n' + body);
}

function refusalPage(status: number, reason: string): string {
  const esc = reason.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>ptflow tap: ${status}</title><h1 id="refused">ptflow tap: ${status}</h1><p>${esc}</p>\n`;
}

/** Listens (rejecting with the system error, e.g. EADDRINUSE) and streams the bus until closed. */
export function startTapServer(o: TapServerOptions): Promise<TapServer> {
  const limits: ClientBufferLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const clients = new Set<Client>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD, perMessageDeflate: false });
  let port = o.port;
  let closing = false;

  const own = (type: 'tap.hello' | 'tap.error' | 'tap.dropped', data: TelemetryPayloads[typeof type]): Buffer => {
    const e: TelemetryEvent = { v: TELEMETRY_VERSION, type, ts: Date.now(), run_id: o.bus.runId, step: null, source: 'tap', data };
    return Buffer.from(JSON.stringify(e));
  };

  const helloFrame = (retained: number): Buffer => {
    const h = o.bus.retained;
    return own('tap.hello', {
      ...o.hello(),
      history: { max_events: h.limits.maxEvents, max_curve_points: h.limits.maxCurvePoints, retained, train_step_stride: h.trainStepStride },
    });
  };

  const authorised = (req: http.IncomingMessage, url: URL): { status: number; reason: string } | null => {
    if (o.token !== null && !tokenMatches(o.token, presentedToken(req, url))) {
      return { status: 401, reason: 'a valid tap token is required (Authorization: Bearer <token> or ?token=<token>)' };
    }
    if (!originAllowed(req, { host: o.host, port, tokenRequired: o.token !== null })) {
      return { status: 403, reason: `origin ${req.headers.origin} is not this tap's own` };
    }
    return null;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tap');
    // The page needs the token; its script, style and Chart.js hold no run data and load without it.
    const denied = url.pathname === '/' ? authorised(req, url) : null;
    if (denied) {
      res.writeHead(denied.status, { 'Content-Type': 'text/html; charset=utf-8', ...(denied.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}) });
      res.end(refusalPage(denied.status, denied.reason));
      return;
    }
    serveDashboard(req, res, url);
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://tap');
    if (url.pathname !== '/events') return refuse(socket, 404, 'the event stream is at /events');
    const denied = authorised(req, url);
    if (denied) return refuse(socket, denied.status, denied.reason, denied.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
    if (closing) return refuse(socket, 503, 'the run is ending');
    if (clients.size >= o.maxClients) return refuse(socket, 503, `the tap already has ${o.maxClients} clients (tap_max_clients)`);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  const accept = (ws: WebSocket): void => {
    // History snapshot, hello, replay and joining the live set happen in one turn: no gap, no repeat.
    const replay = o.bus.history();
    ws.send(helloFrame(replay.length), { binary: false });
    const client: Client = { ws, buffer: new ClientBuffer(ws, limits, (n) => own('tap.dropped', { dropped: n })), filter: () => true };
    client.buffer.startReplay(replay.length, (i) => frameOf(replay[i]));
    clients.add(client);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = parseClientMessage(data, isBinary);
      if ('error' in m) ws.send(own('tap.error', { message: m.error }), { binary: false });
      else client.filter = globFilter(m.subscribe);
    });
    ws.on('close', () => clients.delete(client));
    ws.on('error', () => clients.delete(client));
  };

  const unsubscribe = o.bus.subscribe((e) => {
    if (clients.size === 0) return;
    const f = frameOf(e);
    for (const c of clients) if (c.filter(e.type)) c.buffer.send(f);
  });

  const timer = setInterval(() => {
    const now = Date.now();
    for (const c of clients) {
      if (c.buffer.tick(now)) {
        clients.delete(c);
        c.ws.terminate();
      }
    }
  }, o.tickMs ?? 100);
  timer.unref();

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      const addr = server.address();
      port = typeof addr === 'object' && addr ? addr.port : o.port;
      resolve({
        url: `ws://${formatHost(o.host)}:${port}`,
        port,
        clientCount: () => clients.size,
        announce: () => {
          if (clients.size === 0) return;
          const f = helloFrame(0);
          for (const c of clients) c.buffer.send(f);
        },
        close: async (graceMs = 2000) => {
          if (closing) return;
          closing = true;
          unsubscribe();
          const deadline = Date.now() + graceMs;
          // Let queued frames (the run.stop above all) reach clients that read.
          while (Date.now() < deadline && [...clients].some((c) => c.ws.readyState === c.ws.OPEN && (!c.buffer.idle || c.ws.bufferedAmount > 0))) {
            await new Promise((r) => setTimeout(r, 20));
          }
          for (const c of clients) c.ws.close(1001, 'run ended');
          await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
          for (const c of clients) c.ws.terminate();
          clearInterval(timer);
          wss.close();
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
        },
      });
    });
  });
}
