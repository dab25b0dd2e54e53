/**
 * What the main thread prints to the user is also telemetry: this stream writes to `out` unchanged and
 * publishes each complete line as a `log` event from source 'main' (`warning: …` → warn, `error: …` →
 * error, anything else → info), so a telemetry client sees every warning the terminal shows.
 * (Actors' own `log` events are printed by the progress display, which skips source 'main'.)
 */
import { Writable } from 'node:stream';
import type { TelemetryBus } from './bus';

export const MAIN_SOURCE = 'main';
const MAX_LINE = 4096;

export function loggedOutput(out: NodeJS.WritableStream, bus: TelemetryBus): NodeJS.WritableStream {
  let partial = '';
  const publish = (line: string): void => {
    const text = line.slice(line.lastIndexOf('\r') + 1).trim();
    if (!text) return;
    const m = /^(warning|error): /.exec(text);
    const level = m ? (m[1] === 'warning' ? 'warn' : 'error') : 'info';
    bus.emit('log', { level, message: m ? text.slice(m[0].length) : text }, { source: MAIN_SOURCE });
  };
  const w = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const s = chunk.toString();
      out.write(s);
      const lines = (partial + s).split('\n');
      // A line redrawn in place (`\r`) keeps only its latest text; a line never ended stays bounded.
      const rest = lines.pop() ?? '';
      partial = rest.slice(rest.lastIndexOf('\r') + 1).slice(-MAX_LINE);
      for (const l of lines) publish(l);
      done();
    },
    final(done) {
      publish(partial);
      partial = '';
      done();
    },
  });
  return Object.assign(w, { isTTY: (out as NodeJS.WriteStream).isTTY });
}
