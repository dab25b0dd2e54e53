/**
 * A command's progress lines as telemetry: a stream that writes to `out` as before and publishes
 * each complete line as a `log` event, so a tap client sees what the terminal sees (`ptflow prepare`
 * reports its progress as lines, not as events of its own).
 */
import { Writable } from 'node:stream';
import type { TelemetryBus } from '../bus';

export function linesToBus(out: NodeJS.WritableStream, bus: TelemetryBus, source: string): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const text = chunk.toString();
      out.write(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        const line = l.replace(/\r/g, '').trimEnd();
        if (line === '') continue;
        const level = /^warning:/.test(line) ? 'warn' : /^error:|ptflow: error/.test(line) ? 'error' : 'info';
        bus.emit('log', { level, message: line }, { source });
      }
      done();
    },
  });
}
