/**
 * An event as the tap sends it: one JSON text frame, serialised once however many clients get it
 * (cached per event object while the event is alive, e.g. in the history). The token a run was
 * started with is never sent, even inside `run.start`'s config.
 */
import type { TelemetryEvent } from '../../../schemas/telemetry';

const frames = new WeakMap<TelemetryEvent, Buffer>();

const SECRET_KEYS = new Set(['tap_token']);

function redact(key: string, value: unknown): unknown {
  return SECRET_KEYS.has(key) && value !== null && value !== undefined ? '<redacted>' : value;
}

export function frameOf(e: TelemetryEvent): Buffer {
  let f = frames.get(e);
  if (!f) {
    f = Buffer.from(e.type === 'run.start' ? JSON.stringify(e, redact) : JSON.stringify(e));
    frames.set(e, f);
  }
  return f;
}
