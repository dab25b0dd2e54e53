// Smoothing expectations: w = 1.8·(1/(1+e^(−0.05·N)) − 0.5) and s_i = s_{i−1}·w + (1−w)·x_i with
// s_{−1} = x_0, worked out by hand for N = 3 and checked against LLaMA-Factory's smooth() in CPython.
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { evalLogEntry, trainLogEntry } from './log-entries';
import { metricSeries, plotLoss, plotLossFromStateFile, renderLossPng, smooth } from './plot';
import { createTrainerState, saveTrainerState } from './trainer-state';

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

test('smooth is LLaMA-Factory\'s sigmoid-weighted EMA', () => {
  const w3 = 1.8 * (1 / (1 + Math.exp(-0.15)) - 0.5);
  expect(w3).toBeCloseTo(0.06737372161874929, 15);
  const s = smooth([1, 2, 3]);
  expect(s[0]).toBe(1);
  expect(s[1]).toBeCloseTo(2 - w3, 14); // 1·w + (1−w)·2
  expect(s[2]).toBeCloseTo(3 - w3 * (3 - s[1]), 14);
  expect(s[2]).toBeCloseTo(2.92808706001649, 13);
  const s5 = smooth([10, 8, 9, 7, 6.5]);
  [10.0, 8.223835403188874, 8.913133442265927, 7.214113497701856, 6.579921941340356].forEach((v, i) =>
    expect(s5[i]).toBeCloseTo(v, 12),
  );
  expect(smooth([])).toEqual([]);
});

test('metricSeries picks the entries that have the key', () => {
  const h = [
    trainLogEntry({ meanLoss: 3, learningRate: 1e-4, epoch: 0.5, step: 5 }),
    evalLogEntry({ loss: 2.9, runtimeSeconds: 1, numSamples: 2, numSteps: 1, epoch: 0.5, step: 5 }),
    trainLogEntry({ meanLoss: 2.5, learningRate: 1e-4, epoch: 1, step: 10 }),
  ];
  expect(metricSeries(h, 'loss')).toEqual({ steps: [5, 10], values: [3, 2.5] });
  expect(metricSeries(h, 'eval_loss')).toEqual({ steps: [5], values: [2.9] });
});

test('plotLoss writes a PNG per key that has entries, of the requested size, with text drawn', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-plot-'));
  const history = Array.from({ length: 30 }, (_, i) =>
    trainLogEntry({ meanLoss: 2 + 6 * Math.exp(-i / 8) + 0.3 * Math.sin(i), learningRate: 1e-4, epoch: i / 30, step: i + 1 }),
  );
  history.push(evalLogEntry({ loss: 2.5, runtimeSeconds: 1, numSamples: 2, numSteps: 1, epoch: 1, step: 30 }));
  const written = await plotLoss(dir, history, ['loss', 'eval_loss', 'eval/other_loss', 'grad_norm'], { width: 640, height: 400 });
  expect(written.map((f) => path.basename(f))).toEqual(['training_loss.png', 'training_eval_loss.png']);
  expect(existsSync(path.join(dir, 'training_eval_other_loss.png'))).toBe(false);
  const png = readFileSync(written[0]);
  expect(pngSize(png)).toEqual({ width: 640, height: 400 });

  // White background; dark title text near the top centre; the curves in the plot area.
  const canvas = createCanvas(640, 400);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(await loadImage(png), 0, 0);
  const corner = ctx.getImageData(0, 399, 1, 1).data;
  expect([...corner]).toEqual([255, 255, 255, 255]);
  const title = ctx.getImageData(120, 0, 400, 40).data;
  let dark = 0;
  for (let i = 0; i < title.length; i += 4) if (title[i] < 100 && title[i + 1] < 100 && title[i + 2] < 100) dark++;
  expect(dark).toBeGreaterThan(50);
  const plot = ctx.getImageData(80, 80, 500, 250).data;
  let blue = 0;
  for (let i = 0; i < plot.length; i += 4) if (plot[i + 2] > plot[i] + 60) blue++;
  expect(blue).toBeGreaterThan(200);
});

test('default size is 1000×600 and a single point still renders', () => {
  expect(pngSize(renderLossPng('training eval_loss of out', 'eval_loss', [10], [2.5]))).toEqual({ width: 1000, height: 600 });
  expect(() => renderLossPng('t', 'loss', [1, 2], [1])).toThrow(/plot of loss: need as many steps as values/);
});

test('plotLossFromStateFile reads log_history from trainer_state.json, as LLaMA-Factory does', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-plot-'));
  const log_history = [1, 2, 3].map((s) => trainLogEntry({ meanLoss: 4 - s, learningRate: 1e-4, epoch: s / 3, step: s }));
  await saveTrainerState(path.join(dir, 'trainer_state.json'), createTrainerState({ log_history }));
  const written = await plotLossFromStateFile(dir, ['loss', 'eval_loss'], { width: 300, height: 200 });
  expect(written).toEqual([path.join(dir, 'training_loss.png')]);
  expect(pngSize(readFileSync(written[0]))).toEqual({ width: 300, height: 200 });
  await expect(plotLossFromStateFile(path.join(dir, 'missing'))).rejects.toThrow(/trainer_state\.json: no such file/);
});
