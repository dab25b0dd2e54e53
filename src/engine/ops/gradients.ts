/**
 * Gradients of the stock tfjs kernels that lie on the model's autodiff path. The
 * `@tensorflow/tfjs-core` bundle ships no gradient registrations (the `@tensorflow/tfjs` union
 * package adds them), so the ones the model needs are registered here, once, and only where none
 * is registered yet. Everything else on the path is a custom op with its own gradient.
 *
 * | kernel    | used by |
 * |-----------|---------|
 * | Add, Sub, Multiply | residual adds, attention mask and scale, LoRA scale and dropout |
 * | Reshape   | head layout for RoPE |
 * | Transpose, Pack, Unpack, Softmax | not on the model's path (attention is one custom op); kept for helpers and tests |
 * | Sum       | losses built from sums (tests, auxiliary terms) |
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

/** Sums `dy` over the axes along which `shape` was broadcast to `dy.shape`, then reshapes to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

function attr<T>(attrs: NamedAttrMap, key: string): T {
  return attrs[key] as unknown as T;
}

const configs: GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const g = dy as tf.Tensor;
      return { a: () => unbroadcast(g, a.shape), b: () => unbroadcast(g, b.shape) };
    },
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const g = dy as tf.Tensor;
      return { a: () => unbroadcast(g, a.shape), b: () => unbroadcast(tf.neg(g), b.shape) };
    },
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const g = dy as tf.Tensor;
      return {
        a: () => unbroadcast(tf.mul(g, tf.cast(b, 'float32')), a.shape),
        b: () => unbroadcast(tf.mul(g, tf.cast(a, 'float32')), b.shape),
      };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = attr<number[]>(attrs, 'perm');
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    kernelName: tf.Pack,
    gradFunc: (dy, _saved, attrs) => {
      const parts = tf.unstack(dy as tf.Tensor, attr<number>(attrs, 'axis'));
      const out: Record<string, () => tf.Tensor> = {};
      parts.forEach((t, i) => (out[String(i)] = () => t));
      return out;
    },
  },
  {
    kernelName: tf.Unpack,
    gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(dy as tf.Tensor[], attr<number>(attrs, 'axis')) }),
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = tf.util.parseAxisParam(attr<number | number[]>(attrs, 'axis'), x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      return { x: () => tf.broadcastTo(tf.reshape(dy as tf.Tensor, kept), x.shape) };
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = attr<number>(attrs, 'dim');
      return {
        logits: () => {
          const dyY = tf.mul(dy as tf.Tensor, y);
          return tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y));
        },
      };
    },
  },
];

let done = false;

/** Registers the gradients above where none is registered. Idempotent. */
export function registerModelGradients(): void {
  if (done) return;
  for (const c of configs) if (tf.getGradient(c.kernelName) == null) tf.registerGradient(c);
  done = true;
}

registerModelGradients();
