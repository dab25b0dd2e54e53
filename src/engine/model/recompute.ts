/**
 * Gradients of a recomputed sub-graph from inside a backward pass (gradient checkpointing).
 *
 * `tf.engine().gradients` called from a gradient function starts a tape of its own: at gradient
 * depth 0 it replaces the running backward pass's tape, and clears it when done, so the outer
 * pass would find no tape left to clean up. The outer tape is put back afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';

interface EngineState {
  state: { activeTape: unknown };
}

/** `d f(xs) / d xs` with upstream gradient `dy`; the recomputed value is released. */
export function recomputeGrads(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine() as unknown as EngineState;
  const outerTape = engine.state.activeTape;
  try {
    const { value, grads } = tf.engine().gradients(f, xs, dy, true);
    value.dispose();
    return grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
  } finally {
    engine.state.activeTape = outerTape;
  }
}
