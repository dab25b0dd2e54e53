/**
 * The tap as `ptflow train` / `ptflow prepare` start it from the config (`tap_port`, `tap_host`,
 * `tap_token` or PTFLOW_TAP_TOKEN, `tap_max_clients`, `tap_history`), before any work: a port in use
 * or an open address without a token stops the command there, with nothing done yet.
 */
import type { TrainConfig } from '../../config';
import { PtflowError, usageError } from '../../errors';
import type { TelemetryBus } from '../bus';
import { isLoopbackHost } from './auth';
import type { RunDescription } from './hello';
import { startTapServer, type TapServer } from './server';

export type TapConfig = Pick<TrainConfig, 'tap_port' | 'tap_host' | 'tap_token' | 'tap_max_clients'>;

/** The token in force: the config's, else PTFLOW_TAP_TOKEN; empty means none. */
export function tapToken(c: TapConfig, env: Readonly<Record<string, string | undefined>>): string | null {
  const t = c.tap_token ?? env.PTFLOW_TAP_TOKEN ?? null;
  return t === null || t === '' ? null : t;
}

/** Starts the tap when `tap_port` is set and prints its address; null when it is not. */
export async function startTapFromConfig(
  c: TapConfig,
  bus: TelemetryBus,
  run: RunDescription,
  out: NodeJS.WritableStream,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<TapServer | null> {
  if (c.tap_port === null) return null;
  const token = tapToken(c, env);
  if (token === null && !isLoopbackHost(c.tap_host)) {
    throw usageError(
      `tap_host ${c.tap_host} is not a loopback address and no tap_token is set: anyone who could reach the tap could read the run. ` +
        'Set tap_token (or the environment variable PTFLOW_TAP_TOKEN), or keep tap_host: 127.0.0.1.',
    );
  }
  let tap: TapServer;
  try {
    tap = await startTapServer({ bus, host: c.tap_host, port: c.tap_port, token, maxClients: c.tap_max_clients, hello: () => run.hello() });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new PtflowError(`tap_port ${c.tap_port} on ${c.tap_host} is in use: choose another tap_port (0 picks a free one)`, 2);
    throw new PtflowError(`cannot start the telemetry tap on ${c.tap_host}:${c.tap_port} (tap_host / tap_port): ${err.message}`, 2);
  }
  const stopAnnouncing = run.onChange(() => tap.announce());
  const close = tap.close.bind(tap);
  tap = {
    ...tap,
    close: async (graceMs?: number) => {
      stopAnnouncing();
      await close(graceMs);
    },
  };
  const dash = tap.url.replace(/^ws:/, 'http:') + '/' + (token ? '?token=<tap_token>' : '');
  out.write(`telemetry tap: ${tap.url}/events · dashboard ${dash}\n`);
  return tap;
}
