/**
 * The webgpu backend computes what the wasm backend computes: the loss and every parameter
 * gradient of the tiny Llama model (right-padded and packed micro-batches, GQA), and the losses of
 * three full optimizer steps (clipping, AdamW), within 1e-4 relative; the loss, the logits and the
 * gradients also match the float64 reference implementation (finite differences for gradients).
 *
 * It runs on whatever adapter Dawn finds, requested explicitly (`backend: webgpu` with
 * `webgpu_allow_software: true`): on a machine without a GPU that is Mesa's software OpenGL ES
 * (llvmpipe; .ci/run installs it). Skipped, with the reason, only where no adapter can be created
 * at all — and not even then when PTFLOW_REQUIRE_WEBGPU=1 (CI sets it).
 * `ptflow doctor --json` (the built CLI) tells which.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { MicroBatch } from '../batch';
import { packedBatch, paddedBatch, randomWeights, tinyConfig, toFloat64 } from '../gradcheck/fixtures';
import { finiteDifferences, worstRatio } from '../gradcheck/finite-diff';
import { referenceLogits, referenceLossSum } from '../gradcheck/reference';
import { lossAndGrads } from '../gradcheck/tf-grads';
import { initBackend, shutdownBackend, type BackendRequest } from '../backend';
import { LlamaModel } from '../model/llama';
import { parameterShapes } from '../model/names';
import { AdamW } from '../optim/adamw';
import { TrainStep } from '../train-step';
import type { DoctorReport } from '../../workflow/doctor';

const root = path.resolve(__dirname, '../../..');
const report = JSON.parse(
  execFileSync(process.execPath, [path.join(root, 'bin/ptflow.js'), 'doctor', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
) as DoctorReport;
const adapter = report.adapters[0];
const required = process.env['PTFLOW_REQUIRE_WEBGPU'] === '1';
if (adapter === undefined && !required) {
  console.warn(`webgpu loss check skipped: no WebGPU adapter can be created here (${report.adapterNotes.join('; ') || 'webgpu packages missing'})`);
}
const maybe = adapter !== undefined || required ? describe : describe.skip;

const cfg = tinyConfig();
const weights = randomWeights(cfg, 7);
const batches = (): MicroBatch[] => [paddedBatch(), packedBatch()];

interface Run {
  backend: string;
  loss: number;
  grads: Map<string, Float32Array>;
  stepLosses: number[];
  /** Logits of the packed batch, and the gradients of its loss alone (for the float64 checks). */
  packedLogits: Float32Array;
  packedGrads: Map<string, Float32Array>;
}

async function run(backend: BackendRequest): Promise<Run> {
  const info = await initBackend(backend, { threads: 1, webgpuAllowSoftware: true });
  try {
    const model = LlamaModel.fromWeights(cfg, weights);
    const [a, b] = batches();
    const { loss, grads } = lossAndGrads(model, () => tf.add(model.lossSum(a), model.lossSum(b)) as tf.Scalar);
    const logitsT = model.forward(b);
    const packedLogits = logitsT.dataSync() as Float32Array;
    logitsT.dispose();
    const packedGrads = lossAndGrads(model, () => model.lossSum(b)).grads;
    const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
    const ts = new TrainStep(model, opt, () => 1e-2, { maxGradNorm: 1 });
    const stepLosses = [0, 1, 2].map(() => ts.step(batches()).loss);
    model.dispose();
    return { backend: info.name, loss, grads, stepLosses, packedLogits, packedGrads };
  } finally {
    await shutdownBackend();
  }
}

function relClose(x: number, ref: number, rtol: number): boolean {
  return Math.abs(x - ref) <= rtol * Math.abs(ref);
}

maybe('webgpu matches wasm (float32) on the tiny model', () => {
  let wasm: Run;
  let gpu: Run;
  beforeAll(async () => {
    wasm = await run('wasm');
    gpu = await run('webgpu');
  }, 300_000);

  test('both runs happened on the backends asked for', () => {
    expect(wasm.backend).toBe('wasm');
    expect(gpu.backend).toBe('webgpu');
  });

  test('loss within 1e-4 relative of wasm and of the float64 reference', () => {
    const p64 = toFloat64(weights);
    const ref = batches().reduce((s, b) => s + referenceLossSum(cfg, p64, b).sum, 0);
    expect(relClose(gpu.loss, wasm.loss, 1e-4)).toBe(true);
    expect(relClose(gpu.loss, ref, 1e-4)).toBe(true);
  });

  test('every gradient within 1e-4 of wasm, relative to the tensor’s largest entry', () => {
    expect([...gpu.grads.keys()].sort()).toEqual([...wasm.grads.keys()].sort());
    for (const [name, w] of wasm.grads) {
      const g = gpu.grads.get(name)!;
      let maxRef = 0;
      let maxDiff = 0;
      for (let i = 0; i < w.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(w[i]));
        maxDiff = Math.max(maxDiff, Math.abs(g[i] - w[i]));
      }
      expect(maxRef).toBeGreaterThan(0);
      if (maxDiff > 1e-4 * maxRef) throw new Error(`${name}: max |webgpu − wasm| = ${maxDiff} > 1e-4 × ${maxRef}`);
    }
  });

  test('float64 reference: logits within 1e-4, every gradient within the finite-difference tolerance', () => {
    const p64 = toFloat64(weights);
    const b = packedBatch();
    const ref = referenceLogits(cfg, p64, b);
    expect(gpu.packedLogits).toHaveLength(ref.length);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(gpu.packedLogits[i] - ref[i])).toBeLessThan(1e-4);
    const names = [...parameterShapes(cfg).keys()];
    const fd = finiteDifferences(p64, names, () => referenceLossSum(cfg, p64, b).sum);
    for (const n of names) {
      const ratio = worstRatio(gpu.packedGrads.get(n)!, fd.get(n)!, 1e-3, 2e-5);
      if (ratio > 1) throw new Error(`webgpu gradient of ${n} off by ${ratio}× the tolerance`);
    }
  });

  test('three optimizer steps: the same losses', () => {
    expect(gpu.stepLosses).toHaveLength(3);
    expect(gpu.stepLosses[2]).toBeLessThan(gpu.stepLosses[0]);
    gpu.stepLosses.forEach((l, i) => expect(relClose(l, wasm.stepLosses[i], 1e-4)).toBe(true));
  });
});
