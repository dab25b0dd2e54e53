/**
 * An event as the tap sends it: one JSON text frame. The server makes it once per live event for all
 * clients, and for a replay one at a time as the joiner's socket takes them (frames are not kept:
 * the history would hold every event twice). The token a run was started with is never sent, even
 * inside `run.start`'s config.
 */
import type { TelemetryEvent } from '../../../schemas/telemetry';

const SECRET_KEYS = new Set(['tap_token']);

function redact(key: string, value: unknown): unknown {
  return SECRET_KEYS.has(key) && value !== null && value !== undefined ? '<redacted>' : value;
}

export function frameOf(e: TelemetryEvent): Buffer {
  return Buffer.from(e.type === 'run.start' ? JSON.stringify(e, redact) : JSON.stringify(e));
}
