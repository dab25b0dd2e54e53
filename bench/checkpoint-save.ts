/**
 * Checkpoint save: the streamed writer (`saveCheckpoint`: weights and AdamW moments read where the
 * backend keeps them, 4 MiB at a time) against the whole-copy writer it replaced (every weight
 * copied out with `dataSync`, the moments with `exportState`, then written), in the same session.
 * Each save runs in a fresh process (peak RSS does not come down within one), the two kinds
 * alternating; printed: save time and the rise of RSS during the save, and their ratios.
 *
 *   node dist/bench/checkpoint-save.js [--layers 8] [--repeats 2] [--backend wasm|cpu]
 *
 * The model is SmolLM-135M's shape (bench/util/scale-shapes.ts) with `--layers` decoder layers;
 * the optimizer has taken two steps, so its moments exist.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { saveHfModelDir } from '../src/engine/io/hf-model-dir';
import { writeSafetensors, type FloatTensor } from '../src/engine/io/safetensors';
import { llamaConfigToJson, parseLlamaConfig } from '../src/engine/model/config';
import { LlamaModel } from '../src/engine/model/llama';
import { AdamW } from '../src/engine/optim/adamw';
import { adamwStateToTensors } from '../src/engine/optim/adamw-state';
import { createTrainerState } from '../src/outputs/trainer-state';
import { saveCheckpoint } from '../src/train/checkpoint';
import { findShape } from './util/scale-shapes';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

interface Sample {
  ms: number;
  rssRise: number;
  peakRss: number;
}

/** The whole-copy writer: every weight and moment copied out first, then written. */
async function wholeCopySave(dir: string, model: LlamaModel, optimizer: AdamW): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const weights = new Map<string, FloatTensor>();
  for (const [name, v] of model.params) {
    const data = v.dataSync() as Float32Array;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new Error(`${name} is not finite`);
    weights.set(name, { shape: v.shape, data });
  }
  await saveHfModelDir(dir, { configJson: llamaConfigToJson(model.config), weights });
  const { tensors, metadata } = adamwStateToTensors(optimizer.exportState());
  await writeSafetensors(path.join(dir, 'optimizer.safetensors'), tensors, metadata);
}

async function child(kind: string, layers: number, backend: 'wasm' | 'cpu'): Promise<void> {
  await initBackend(backend);
  const cfg = parseLlamaConfig({ ...findShape('smollm135m-512x4').hf, num_hidden_layers: layers }, 'bench shape');
  const model = LlamaModel.init(cfg, 1);
  const optimizer = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
  for (let k = 0; k < 2; k++) {
    const grads = new Map([...model.params].map(([n, v]) => [n, tf.tidy(() => tf.add(tf.mul(v, 0.5 + k), 0.01))] as const));
    optimizer.step(grads, 1e-3);
    for (const g of grads.values()) g.dispose();
  }
  const out = mkdtempSync(path.join(os.tmpdir(), 'ptflow-bench-ckpt-'));
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
  const t0 = performance.now();
  if (kind === 'whole') await wholeCopySave(path.join(out, 'checkpoint-2'), model, optimizer);
  else {
    await saveCheckpoint(out, {
      model, optimizer, trainerState: createTrainerState({ global_step: 2 }),
      progress: { lossSinceLog: 0, stepsSinceLog: 0, lossTotal: 0, tokensSeen: 0, cursor: null, skippedSteps: 0 },
      step: 2, seed: 1, tokenizerDir: out, baseModelNameOrPath: null, saveOnlyModel: false, dataSettings: null,
    });
  }
  const ms = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  rmSync(out, { recursive: true, force: true });
  const s: Sample = { ms, rssRise: peak - rss0, peakRss: peak };
  process.stdout.write(`${JSON.stringify(s)}\n`);
  process.exit(0);
}

function runChild(kind: string, layers: number, backend: string): Sample {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', kind, '--layers', String(layers), '--backend', backend], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${kind} save failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Sample;
}

function main(): void {
  const layers = Number(arg('layers', '8'));
  const repeats = Number(arg('repeats', '2'));
  const backend = arg('backend', 'wasm');
  const MiB = 1024 ** 2;
  console.log(`checkpoint save, SmolLM-135M shape with ${layers} layers, ${backend}; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
  const ratios: { ms: number; rise: number; peak: number }[] = [];
  for (let r = 0; r < repeats; r++) {
    const whole = runChild('whole', layers, backend);
    const streamed = runChild('streamed', layers, backend);
    for (const [k, s] of [['whole-copy', whole], ['streamed', streamed]] as const) {
      console.log(`  ${k.padEnd(10)} ${s.ms.toFixed(0).padStart(6)} ms  RSS +${(s.rssRise / MiB).toFixed(0)} MiB (peak ${(s.peakRss / MiB).toFixed(0)} MiB)`);
    }
    ratios.push({ ms: streamed.ms / whole.ms, rise: streamed.rssRise / Math.max(1, whole.rssRise), peak: streamed.peakRss / whole.peakRss });
  }
  for (const q of ratios) console.log(`streamed / whole-copy: time ${q.ms.toFixed(2)}×, RSS rise ${q.rise.toFixed(2)}×, peak RSS ${q.peak.toFixed(2)}×`);
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) void child(process.argv[ci + 1], Number(arg('layers', '8')), arg('backend', 'wasm') as 'wasm' | 'cpu');
else main();
