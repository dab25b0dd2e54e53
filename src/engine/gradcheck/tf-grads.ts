/**
 * Gradients of a model's summed loss with respect to its trainable tensors, read back as
 * arrays keyed by parameter name (for comparing against finite differences).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface GradModel {
  trainableParams(): Map<string, tf.Variable>;
}

export function lossAndGrads(
  model: GradModel,
  loss: () => tf.Scalar,
): { loss: number; grads: Map<string, Float32Array> } {
  const params = model.trainableParams();
  const byVar = new Map<string, string>();
  for (const [name, v] of params) byVar.set(v.name, name);
  const { value, grads } = tf.variableGrads(loss, [...params.values()]);
  const out = new Map<string, Float32Array>();
  for (const [vname, g] of Object.entries(grads)) {
    out.set(byVar.get(vname) ?? vname, g.dataSync() as Float32Array);
    g.dispose();
  }
  const l = value.dataSync()[0];
  value.dispose();
  return { loss: l, grads: out };
}
