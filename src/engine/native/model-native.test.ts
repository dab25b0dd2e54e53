/**
 * The model's ops in their native forms (fused cross-entropy and attention, transpose flags
 * instead of transposes) on the cpu and wasm backends: every parameter gradient against finite
 * differences of the float64 reference, and against the stock op forms in the same process.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { finiteDifferences, worstRatio } from '../gradcheck/finite-diff';
import { packedBatch, paddedBatch, randomWeights, tinyConfig, toFloat64 } from '../gradcheck/fixtures';
import { referenceLossSum } from '../gradcheck/reference';
import { lossAndGrads } from '../gradcheck/tf-grads';
import { LlamaModel } from '../model/llama';
import { parameterShapes } from '../model/names';
import { nativeOpsActive, setNativeOpsEnabled } from './active';
import type { NativeBackendName } from './register';
import { loadNativeAddon } from './addon';
import { relativeError } from './reference';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

const CASES = {
  cpu: { over: { tie_word_embeddings: true, num_key_value_heads: 1 }, batch: paddedBatch },
  wasm: { over: { num_attention_heads: 2, num_key_value_heads: 2 }, batch: packedBatch },
};

describe.each<NativeBackendName>(['cpu', 'wasm'])('model ops in native form on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);

  test('gradients: finite differences of the float64 reference, and the stock op forms', () => {
    const { over, batch } = CASES[backend];
    const cfg = tinyConfig(over);
    const w = randomWeights(cfg, 31);
    const model = LlamaModel.fromWeights(cfg, w);
    const b = batch();

    expect(nativeOpsActive()).toBe(true);
    const fwd = jest.spyOn(addon, 'crossEntropyForward');
    const bwd = jest.spyOn(addon, 'crossEntropyBackward');
    const attnFwd = jest.spyOn(addon, 'attnForward');
    const attnBwd = jest.spyOn(addon, 'attnBackward');
    const gluFwd = jest.spyOn(addon, 'swigluForward');
    const gluBwd = jest.spyOn(addon, 'swigluBackward');
    const runKernel = jest.spyOn(tf.engine(), 'runKernel');
    const native = lossAndGrads(model, () => model.lossSum(b));
    const kernels = runKernel.mock.calls.map((c) => c[0]);
    jest.restoreAllMocks();
    expect(fwd).toHaveBeenCalledTimes(1);
    expect(bwd).toHaveBeenCalledTimes(1);
    expect(attnFwd).toHaveBeenCalledTimes(cfg.numHiddenLayers);
    expect(attnBwd).toHaveBeenCalledTimes(cfg.numHiddenLayers);
    expect(gluFwd).toHaveBeenCalledTimes(cfg.numHiddenLayers);
    expect(gluBwd).toHaveBeenCalledTimes(cfg.numHiddenLayers);
    expect(kernels).not.toContain('Transpose');

    setNativeOpsEnabled(false);
    expect(nativeOpsActive()).toBe(false);
    const stock = lossAndGrads(model, () => model.lossSum(b));
    setNativeOpsEnabled(true);
    expect(native.loss).toBeCloseTo(stock.loss, 4);

    const p64 = toFloat64(w);
    const names = [...parameterShapes(cfg).keys()];
    const fd = finiteDifferences(p64, names, () => referenceLossSum(cfg, p64, b).sum);
    for (const n of names) {
      const g = native.grads.get(n) as Float32Array;
      const ratio = worstRatio(g, fd.get(n) as Float64Array, 1e-3, 2e-5);
      if (ratio > 1) throw new Error(`${backend} native gradient of ${n} off by ${ratio}× the tolerance`);
      expect(relativeError(g, stock.grads.get(n) as Float32Array)).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  test('LoRA (frozen base, adapters on every linear): native and stock op forms agree', () => {
    const cfg = tinyConfig(CASES[backend].over);
    const model = LlamaModel.fromWeights(cfg, randomWeights(cfg, 5));
    model.setFinetuning({ finetuningType: 'lora', rank: 2, target: 'all', seed: 3 });
    // Non-zero B so that every adapter tensor gets a non-trivial gradient.
    for (const [name, v] of model.trainableParams()) {
      if (name.endsWith('lora_B.weight')) v.assign(tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 9));
    }
    const b = CASES[backend].batch();
    const native = lossAndGrads(model, () => model.lossSum(b));
    setNativeOpsEnabled(false);
    const stock = lossAndGrads(model, () => model.lossSum(b));
    setNativeOpsEnabled(true);
    expect(native.loss).toBeCloseTo(stock.loss, 4);
    expect(native.grads.size).toBe(model.trainableParams().size);
    for (const [n, g] of native.grads) expect(relativeError(g, stock.grads.get(n) as Float32Array)).toBeLessThan(1e-4);
    model.dispose();
  });
});
