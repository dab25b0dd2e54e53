/**
 * Who may use the tap. A request carries the token as `Authorization: Bearer <token>` or, for
 * browsers (which cannot set headers on a WebSocket), as the `token` query parameter; the
 * comparison is constant-time. A browser also sends `Origin`: only the tap's own origin is let in, so
 * a page on another site cannot read the run through the user's browser. Without a token (loopback
 * only) the own origin must name a loopback address, which keeps DNS-rebinding pages out too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The token the request presents (header first, then `?token=`), or null. */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1] : null;
  }
  return url.searchParams.get('token');
}

/** Constant-time: both sides are hashed to the same length first, so not even the length leaks. */
export function tokenMatches(expected: string, presented: string | null): boolean {
  if (presented === null) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

export interface OriginPolicy {
  /** The address and port the tap listens on. */
  host: string;
  port: number;
  /** With a token, the origin the browser used (its Host header) is the tap's own. */
  tokenRequired: boolean;
}

/** No Origin (not a browser) passes; otherwise it must be the tap's own http origin. */
export function originAllowed(req: IncomingMessage, p: OriginPolicy): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.protocol !== 'http:') return false;
  const port = o.port === '' ? 80 : Number(o.port);
  if (port !== p.port) return false;
  if (p.tokenRequired) return req.headers.host !== undefined && o.host === req.headers.host.toLowerCase();
  return isLoopbackHost(o.hostname) || o.hostname === p.host.replace(/^\[|\]$/g, '');
}
