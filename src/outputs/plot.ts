/**
 * Loss plots, as LLaMA-Factory's `plot_loss` draws them: for each key with entries in
 * `log_history`, the raw values (alpha 0.4) and their TensorBoard-style EMA (weight
 * 1.8·(sigmoid(0.05·N) − 0.5), first value kept) against `step`, titled
 * "training {key} of {output_dir}", saved as `training_{key}.png` (with "/" in the key made "_").
 * Drawn with chart.js on @napi-rs/canvas, with DejaVu Sans when the system has it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import type { LogEntry } from '../../schemas/outputs/trainer-state';
import { PtflowError } from '../errors';
import { loadTrainerState, TRAINER_STATE_NAME } from './trainer-state';
import { writeBytesAtomic } from './write';

/** matplotlib's default colour "C0". */
const BLUE = '#1f77b4';
const BLUE_ALPHA_04 = 'rgba(31, 119, 180, 0.4)';

/** LLaMA-Factory's `smooth`: EMA with a weight that grows with the number of points. */
export function smooth(scalars: readonly number[]): number[] {
  if (scalars.length === 0) return [];
  let last = scalars[0];
  const weight = 1.8 * (1 / (1 + Math.exp(-0.05 * scalars.length)) - 0.5);
  return scalars.map((next) => {
    last = last * weight + (1 - weight) * next;
    return last;
  });
}

/** The (step, value) pairs of `key` in `logHistory`, in log order. */
export function metricSeries(logHistory: readonly LogEntry[], key: string): { steps: number[]; values: number[] } {
  const steps: number[] = [];
  const values: number[] = [];
  for (const entry of logHistory) {
    if (key in entry) {
      steps.push(entry.step);
      values.push(entry[key]);
    }
  }
  return { steps, values };
}

const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];
let fontFamily: string | undefined;
let chartReady = false;

function findFont(dir: string, name: string, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.isFile() && e.name === name) return path.join(dir, e.name);
  for (const e of entries) {
    if (e.isDirectory()) {
      const hit = findFont(path.join(dir, e.name), name, depth + 1);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Register chart.js components and the DejaVu font once; returns the font family in use. */
function setUp(): string | undefined {
  if (!chartReady) {
    Chart.register(...registerables);
    for (const name of FONT_FILES) {
      const file = findFont('/usr/share/fonts', name);
      if (file && GlobalFonts.registerFromPath(file, 'DejaVu Sans')) fontFamily = 'DejaVu Sans';
    }
    chartReady = true;
  }
  return fontFamily;
}

/** Paints the whole canvas white before the chart (PNG pixels are otherwise transparent). */
const whiteBackground: Plugin<'line'> = {
  id: 'ptflowWhiteBackground',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export interface PlotSize {
  width?: number;
  height?: number;
}

/** One loss chart as PNG bytes. `steps` and `values` must have the same, non-zero length. */
export function renderLossPng(
  title: string,
  key: string,
  steps: readonly number[],
  values: readonly number[],
  size: PlotSize = {},
): Buffer {
  if (steps.length !== values.length || steps.length === 0) {
    throw new PtflowError(`plot of ${key}: need as many steps as values (got ${steps.length} and ${values.length})`);
  }
  const family = setUp();
  const width = size.width ?? 1000;
  const height = size.height ?? 600;
  const canvas = createCanvas(width, height);
  const ctx: SKRSContext2D = canvas.getContext('2d');
  const smoothed = smooth(values);
  const points = (ys: readonly number[]) => steps.map((x, i) => ({ x, y: ys[i] }));
  const pointRadius = steps.length === 1 ? 3 : 0;
  const font = (size: number, weight: 'normal' | 'bold' = 'normal') => ({ family, size, weight });
  const axis = (text: string) => ({
    title: { display: true, text, color: '#000000', font: font(16) },
    ticks: { color: '#000000', font: font(13) },
    grid: { color: 'rgba(0, 0, 0, 0.08)' },
    border: { color: '#000000' },
  });
  const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
    type: 'line',
    data: {
      datasets: [
        { label: 'original', data: points(values), borderColor: BLUE_ALPHA_04, backgroundColor: BLUE_ALPHA_04, borderWidth: 2, pointRadius },
        { label: 'smoothed', data: points(smoothed), borderColor: BLUE, backgroundColor: BLUE, borderWidth: 2, pointRadius },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      parsing: false,
      normalized: true,
      layout: { padding: { top: 8, right: 24, bottom: 8, left: 8 } },
      scales: {
        x: { type: 'linear', ...axis('step'), ticks: { color: '#000000', font: font(13), precision: 0 } },
        y: { type: 'linear', ...axis(key) },
      },
      plugins: {
        title: { display: true, text: title, color: '#000000', font: font(18) },
        legend: {
          position: 'top',
          align: 'end',
          labels: { color: '#000000', font: font(14), usePointStyle: true, pointStyle: 'line', pointStyleWidth: 36 },
        },
        tooltip: { enabled: false },
      },
    },
    plugins: [whiteBackground],
  };
  // chart.js draws on any 2D context with the canvas API; its types name the DOM's.
  const chart = new Chart(ctx as unknown as ConstructorParameters<typeof Chart>[0], config);
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}

/**
 * `plot_loss(output_dir, keys)`: writes `training_{key}.png` in `outputDir` for each key that has
 * entries in `logHistory` (keys without any are skipped, as LLaMA-Factory warns and skips) and
 * returns the paths written.
 */
export async function plotLoss(
  outputDir: string,
  logHistory: readonly LogEntry[],
  keys: readonly string[] = ['loss', 'eval_loss'],
  size: PlotSize = {},
): Promise<string[]> {
  const written: string[] = [];
  for (const key of keys) {
    const { steps, values } = metricSeries(logHistory, key);
    if (values.length === 0) continue;
    const png = renderLossPng(`training ${key} of ${outputDir}`, key, steps, values, size);
    const file = path.join(outputDir, `training_${key.replace(/\//g, '_')}.png`);
    await writeBytesAtomic(file, png);
    written.push(file);
  }
  return written;
}

/** LLaMA-Factory's own entry point: plot from `outputDir/trainer_state.json`. */
export async function plotLossFromStateFile(
  outputDir: string,
  keys: readonly string[] = ['loss'],
  size: PlotSize = {},
): Promise<string[]> {
  const state = await loadTrainerState(path.join(outputDir, TRAINER_STATE_NAME));
  return plotLoss(outputDir, state.log_history, keys, size);
}
