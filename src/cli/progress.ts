/**
 * Terminal progress from telemetry: a live bar (step/total, loss, tokens/s, ETA) on a TTY, one plain
 * line per log otherwise (CI logs, files). Warnings and errors from actors are printed either way.
 */
import cliProgress from 'cli-progress';
import type { TelemetryEvent } from '../../schemas/telemetry';
import type { TelemetryBus } from '../telemetry/bus';
import { MAIN_SOURCE } from '../telemetry/logged-output';

export interface ProgressOptions {
  tty: boolean;
  out?: NodeJS.WritableStream;
}

export function attachProgress(bus: TelemetryBus, opts: ProgressOptions): () => void {
  const out = opts.out ?? process.stderr;
  let bar: cliProgress.SingleBar | null = null;
  let lastLoss = NaN;
  const write = (line: string): void => {
    if (bar) bar.stop();
    out.write(line + '\n');
    bar = null;
  };
  const onEvent = (e: TelemetryEvent): void => {
    switch (e.type) {
      case 'train.step': {
        const d = e.data as TelemetryEvent<'train.step'>['data'];
        lastLoss = d.loss;
        if (!opts.tty) return;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: 'train |{bar}| {value}/{total} steps · loss {loss} · {tps} tok/s · ETA {eta_formatted}',
              hideCursor: true,
              etaBuffer: 20,
              stream: out as NodeJS.WriteStream,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(d.total_steps, e.step ?? 0, { loss: d.loss.toFixed(4), tps: Math.round(d.tokens_per_second) });
        }
        bar.update(e.step ?? 0, { loss: d.loss.toFixed(4), tps: Math.round(d.tokens_per_second) });
        return;
      }
      case 'train.log': {
        if (opts.tty) return;
        const d = e.data as Record<string, number>;
        const parts = Object.entries(d).map(([k, v]) => `${k}=${fmt(v)}`);
        write(`[step ${e.step}] ${parts.join(' ')}`);
        return;
      }
      case 'eval.result': {
        const d = e.data as TelemetryEvent<'eval.result'>['data'];
        write(`[step ${e.step}] eval_loss=${fmt(d.eval_loss)} eval_perplexity=${fmt(d.eval_perplexity)} (${d.eval_samples} blocks, ${d.eval_runtime.toFixed(1)} s)`);
        return;
      }
      case 'checkpoint.saved': {
        const d = e.data as TelemetryEvent<'checkpoint.saved'>['data'];
        if (!opts.tty) write(`[step ${d.step}] saved ${d.path}`);
        return;
      }
      case 'train.start': {
        const d = e.data as TelemetryEvent<'train.start'>['data'];
        const s = (ms: number): string => (ms / 1000).toFixed(1);
        write(`train: first step after ${s(d.first_step_ms)} s (setup ${s(d.setup_ms)} s, waiting for data ${s(d.startup_wait_ms)} s)`);
        return;
      }
      case 'data.ready': {
        const d = e.data as TelemetryEvent<'data.ready'>['data'];
        write(`data: ${d.documents} documents → ${d.train_blocks} training blocks (${d.train_tokens} tokens), ${d.eval_blocks} eval blocks`);
        return;
      }
      case 'log': {
        if (e.source === MAIN_SOURCE) return; // the main thread printed it itself
        const d = e.data as TelemetryEvent<'log'>['data'];
        write(`${d.level === 'info' ? '' : d.level + ': '}${d.message}`);
        return;
      }
      default:
        return;
    }
  };
  const unsubscribe = bus.subscribe(onEvent);
  return () => {
    unsubscribe();
    if (bar) (bar as cliProgress.SingleBar).stop();
    void lastLoss;
  };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}
