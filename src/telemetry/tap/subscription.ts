/**
 * What a client may send: `{"subscribe": ["train.step", "actor.*", …]}` (glob patterns: `*` matches
 * any run of characters, `?` one). It replaces the client's filter; `["*"]` is everything, `[]`
 * nothing but the tap's own notices. Anything else is refused with a `tap.error` to that client.
 */
import { z } from 'zod';

/** Bytes a client message may have; above it the client gets a tap.error (the run is not affected). */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

const clientMessage = z
  .object({ subscribe: z.array(z.string().min(1).max(200).regex(/^[A-Za-z0-9_.*?-]+$/, 'letters, digits, . _ - and the wildcards * ?')).max(64) })
  .strict();

export type ClientMessage = z.infer<typeof clientMessage>;

export type Filter = (type: string) => boolean;

export function globFilter(patterns: readonly string[]): Filter {
  if (patterns.includes('*')) return () => true;
  const res = patterns.map((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$'));
  return (type) => res.some((r) => r.test(type));
}

/** The parsed message, or the reason it is refused. */
export function parseClientMessage(raw: Buffer | string, isBinary: boolean): ClientMessage | { error: string } {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > MAX_CLIENT_MESSAGE_BYTES) return { error: `message of ${size} bytes is over the limit of ${MAX_CLIENT_MESSAGE_BYTES}` };
  if (isBinary) return { error: 'binary messages are not understood: send JSON text like {"subscribe": ["train.step"]}' };
  let v: unknown;
  try {
    v = JSON.parse(raw.toString());
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  const r = clientMessage.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0];
    return { error: `expected {"subscribe": [glob, …]}: ${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}` };
  }
  return r.data;
}
