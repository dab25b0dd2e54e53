/**
 * Backprop memory: free each upstream gradient and each saved activation as soon as the
 * backward pass has used them.
 *
 * TensorFlow.js 4.22 (`engine.gradients` → `backpropagateGradients`) keeps every intermediate
 * gradient (the `dys` of every tape node) and every saved tensor until the whole backward pass
 * ends. On the reference step that is 247 MiB of tensors at the start of the backward pass
 * growing to 753 MiB at its end. A tape node's upstream gradient is complete once the node is
 * reached (the tape is walked in reverse topological order) and is not read again after the
 * node's input gradients are computed; likewise the node's saved tensors.
 *
 * `installBackpropRelease()` wraps the engine's `addTapeNode` so every tape node's gradient
 * function, once all its input gradients have been computed, disposes
 * - its upstream gradients, unless created before the `gradients` call (a `dy` passed in by
 *   the caller), and
 * - its saved tensors (clones kept for it alone; the engine would dispose them at the end).
 * An input gradient that is not a new tensor (the upstream gradient passed through, a saved
 * tensor, the same tensor for two inputs) is first given its own tensor object on the same data
 * (a reshape, no copy), so nothing still in use is released.
 * Only in a top-level backward pass (gradient depth 0): higher-order gradients are untouched.
 * Gradient values are unchanged; only lifetimes are.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  inputs: Record<string, tf.Tensor>;
  saved?: tf.Tensor[];
  gradient?: (this: TapeNode, dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode: (...args: unknown[]) => void;
  gradients: (...args: unknown[]) => unknown;
  constructor: { nextTensorId: number };
  ptflowBackpropRelease?: boolean;
}

/** Tensors with ids at or above this were created inside the running `gradients` call. */
let backwardFirstId = Number.POSITIVE_INFINITY;

function releaseAfter(engine: EngineInternals, node: TapeNode, dys: Array<tf.Tensor | null>): void {
  if (engine.state.gradientDepth !== 0) return;
  for (const dy of dys) if (dy != null && dy.id >= backwardFirstId) dy.dispose();
  for (const s of node.saved ?? []) s.dispose();
}

function wrapGradient(engine: EngineInternals, node: TapeNode): void {
  const gradient = node.gradient;
  if (gradient == null) return;
  node.gradient = function (this: TapeNode, dys: Array<tf.Tensor | null>) {
    const firstId = engine.constructor.nextTensorId;
    const thunks = gradient.call(this, dys);
    // The backward pass evaluates one thunk per input of the (pruned) node it calls us on.
    const pending = new Set(Object.keys(this.inputs).filter((k) => k in thunks));
    const returned = new Set<tf.Tensor>();
    const wrapped: Record<string, () => tf.Tensor> = {};
    for (const [name, thunk] of Object.entries(thunks)) {
      wrapped[name] = () => {
        let dx = thunk();
        // A gradient that is not a new tensor of this node (an upstream gradient, a saved or
        // forward tensor, one returned for another input) gets its own tensor object on the
        // same data, so releasing the original later cannot take it away.
        if (dx.id < firstId || returned.has(dx)) dx = tf.reshape(dx, dx.shape);
        returned.add(dx);
        pending.delete(name);
        if (pending.size === 0) releaseAfter(engine, this, dys);
        return dx;
      };
    }
    return wrapped;
  };
}

/** Install once per process (idempotent); see the module comment. */
export function installBackpropRelease(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.ptflowBackpropRelease) return;
  engine.ptflowBackpropRelease = true;
  const addTapeNode = engine.addTapeNode;
  engine.addTapeNode = function (this: EngineInternals, ...args: unknown[]): void {
    addTapeNode.apply(this, args);
    const tape = this.state.activeTape;
    if (tape != null && tape.length > 0) wrapGradient(this, tape[tape.length - 1]);
  };
  const gradients = engine.gradients;
  engine.gradients = function (this: EngineInternals, ...args: unknown[]): unknown {
    const outer = backwardFirstId;
    if (this.state.gradientDepth === 0) backwardFirstId = this.constructor.nextTensorId;
    try {
      return gradients.apply(this, args);
    } finally {
      backwardFirstId = outer;
    }
  };
}
