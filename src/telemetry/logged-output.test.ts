import { Writable } from 'node:stream';
import { TelemetryBus } from './bus';
import { loggedOutput } from './logged-output';

describe('loggedOutput', () => {
  it('prints everything unchanged and publishes each complete line as a log event from main', () => {
    let printed = '';
    const terminal = new Writable({ write: (c, _e, done) => ((printed += c.toString()), done()) });
    const bus = new TelemetryBus('r');
    const logs: [string, string, string][] = [];
    bus.subscribe((e) => e.type === 'log' && logs.push([e.source, (e.data as { level: string }).level, (e.data as { message: string }).message]));
    const out = loggedOutput(terminal, bus);
    out.write('warning: report_to wandb is ignored\nResuming from ');
    out.write('checkpoint-3\n');
    out.write('progress 1%\rprogress 50%\rprogress 100%\n\n');
    out.write('error: no documents\n');
    out.write('x'.repeat(10_000)); // never ended: nothing published yet
    expect(printed).toBe('warning: report_to wandb is ignored\nResuming from checkpoint-3\nprogress 1%\rprogress 50%\rprogress 100%\n\nerror: no documents\n' + 'x'.repeat(10_000));
    expect(logs).toEqual([
      ['main', 'warn', 'report_to wandb is ignored'],
      ['main', 'info', 'Resuming from checkpoint-3'],
      ['main', 'info', 'progress 100%'],
      ['main', 'error', 'no documents'],
    ]);
  });
});
