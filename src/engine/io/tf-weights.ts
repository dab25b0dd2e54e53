/**
 * Bridge between model parameters (`Map<HF name, tf.Variable>`, HF shapes) and the plain
 * float32 weights the IO functions read and write.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PtflowError } from '../../errors';
import { checkWeights } from './hf-model-dir';
import type { FloatTensor } from './safetensors';

/**
 * Read every tensor back as float32 (one `dataSync` each). On the cpu backend the arrays may be
 * the tensors' own storage: treat them as read-only and write them out before the next step.
 */
export function tensorsToWeights(params: ReadonlyMap<string, tf.Tensor>): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>();
  for (const [name, t] of params) {
    if (t.dtype !== 'float32') throw new PtflowError(`parameter ${name} has dtype ${t.dtype}; float32 expected`);
    out.set(name, { shape: t.shape.slice(), data: t.dataSync() as Float32Array });
  }
  return out;
}

/**
 * Assign loaded weights to the parameters after checking names and shapes (errors name `file`
 * and the tensor). Every parameter must be present; extra tensors are an error.
 */
export function assignWeights(params: ReadonlyMap<string, tf.Variable>, weights: ReadonlyMap<string, FloatTensor>, file: string): void {
  checkWeights(weights, new Map([...params].map(([n, v]) => [n, v.shape])), file);
  for (const [name, v] of params) {
    const w = weights.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape.slice(), 'float32')));
  }
}
