/**
 * The language-model head and its cross-entropy as one op over row chunks:
 * `Σ_i CE(h_i · Wᵀ, t_i)` for `h` [N, D] and `W` [V, D], never holding the [N, V] logits and
 * their gradient for all rows at once. Each chunk of rows forms its logits [c, V], its loss and
 * (when gradients are being recorded) the logits' gradient, then its share of `dh` and `dW`
 * (`dh_c = dZ_c · W`, `dW += dZ_cᵀ · h_c`), and frees them. The gradients for an upstream
 * gradient of 1 are kept and scaled by the actual (scalar) upstream gradient in the backward
 * pass, so nothing is recomputed. Chunks hold at most `CHUNK_FLOATS` logits (32 MiB).
 *
 * Same value and gradients as `crossEntropySum(linear(h, W), t)` up to float rounding (dW sums
 * its chunks in a different order), tested against that composite and finite differences.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropySumAndGrad } from '../native';
import { IGNORE_INDEX } from './cross-entropy';
import { customOp } from './custom-op';

export const CHUNK_FLOATS = 8 * 1024 * 1024;

/** Rows per chunk for a vocabulary of `V`. */
export function chunkRows(V: number, chunkFloats = CHUNK_FLOATS): number {
  return Math.max(1, Math.floor(chunkFloats / V));
}

interface EngineState {
  state: { gradientDepth: number };
}

/** Whether the engine is recording a tape for gradients right now. */
function recording(): boolean {
  return (tf.engine() as unknown as EngineState).state.gradientDepth > 0;
}

function chunks(N: number, rows: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let r = 0; r < N; r += rows) out.push([r, Math.min(rows, N - r)]);
  return out;
}

/**
 * Σ of token losses of the head `W` [V, D] over hidden states `h` [N, D] against `targets`
 * (length N, −100 = ignored). `trainW = false` gives no gradient for `W`.
 */
export function headCrossEntropySum(
  h: tf.Tensor2D,
  w: tf.Tensor2D,
  targets: ArrayLike<number>,
  trainW: boolean,
  chunkFloats = CHUNK_FLOATS,
): tf.Scalar {
  const [N] = h.shape;
  const V = w.shape[0];
  const parts = chunks(N, chunkRows(V, chunkFloats));
  const tChunk = (r: number, c: number): Int32Array => Int32Array.from({ length: c }, (_, i) => targets[r + i] ?? IGNORE_INDEX);
  const logitsOf = (hc: tf.Tensor2D, wi: tf.Tensor2D): tf.Tensor2D => tf.matMul(hc, wi, false, true);

  if (!recording()) {
    // Evaluation: losses only.
    return tf.tidy(() => {
      let loss: tf.Scalar = tf.scalar(0);
      for (const [r, c] of parts) {
        const z = logitsOf(tf.slice(h, [r, 0], [c, -1]), w);
        const part = crossEntropySumAndGrad(z, tChunk(r, c));
        part.dLogits.dispose();
        loss = tf.add(loss, part.loss) as tf.Scalar;
      }
      return loss;
    });
  }

  const op = customOp<tf.Scalar>((inputs, save) => {
    const [hi, wi] = [inputs[0] as tf.Tensor2D, w];
    let loss: tf.Scalar = tf.scalar(0);
    const dhParts: tf.Tensor2D[] = [];
    let dW: tf.Tensor2D | null = null;
    for (const [r, c] of parts) {
      const hc = tf.slice(hi, [r, 0], [c, -1]);
      const z = logitsOf(hc, wi);
      const { loss: l, dLogits } = crossEntropySumAndGrad(z, tChunk(r, c));
      z.dispose();
      const next = tf.add(loss, l) as tf.Scalar;
      loss.dispose();
      l.dispose();
      loss = next;
      dhParts.push(tf.matMul(dLogits, wi));
      if (trainW) {
        const g: tf.Tensor2D = tf.matMul(dLogits, hc, true, false);
        if (dW === null) dW = g;
        else {
          const s: tf.Tensor2D = tf.add(dW, g);
          dW.dispose();
          g.dispose();
          dW = s;
        }
      }
      dLogits.dispose();
    }
    const dh: tf.Tensor2D = dhParts.length === 1 ? dhParts[0] : tf.concat(dhParts, 0);
    save(trainW && dW !== null ? [dh, dW] : [dh]);
    return {
      value: loss,
      gradFunc: (dy, saved) => saved.map((g) => tf.mul(g, dy)),
    };
  });
  return trainW ? op(h, w) : op(h);
}
