/**
 * The dashboard's files, served by the tap (after its token and origin checks): the page and its
 * script and style from this folder, Chart.js from the npm package. Nothing is fetched from outside.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** The package root, found from here whether this runs from src/ (tests) or dist/src/. */
function packageRoot(): string {
  for (let d = __dirname; path.dirname(d) !== d; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json')) && existsSync(path.join(d, 'src', 'telemetry', 'tap', 'dashboard'))) return d;
  }
  throw new Error(`ptflow's package root not found above ${__dirname}`);
}

function assets(): Record<string, { file: string; type: string }> {
  const here = path.join(packageRoot(), 'src', 'telemetry', 'tap', 'dashboard');
  const chartDist = path.dirname(require.resolve('chart.js'));
  return {
    '/': { file: path.join(here, 'index.html'), type: 'text/html; charset=utf-8' },
    '/app.js': { file: path.join(here, 'app.js'), type: 'text/javascript; charset=utf-8' },
    '/app.css': { file: path.join(here, 'app.css'), type: 'text/css; charset=utf-8' },
    '/chart.umd.min.js': { file: path.join(chartDist, 'chart.umd.min.js'), type: 'text/javascript; charset=utf-8' },
  };
}

let table: ReturnType<typeof assets> | null = null;
const cache = new Map<string, Buffer>();

export function serveDashboard(req: IncomingMessage, res: ServerResponse, url: URL): void {
  table ??= assets();
  const a = req.method === 'GET' || req.method === 'HEAD' ? table[url.pathname] : undefined;
  if (!a) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found: the dashboard is at / and the event stream at /events\n');
    return;
  }
  let body = cache.get(a.file);
  if (!body) cache.set(a.file, (body = readFileSync(a.file)));
  res.writeHead(200, {
    'Content-Type': a.type,
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    // The page may talk only to this tap, and load only its own files.
    'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'",
    'Referrer-Policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
