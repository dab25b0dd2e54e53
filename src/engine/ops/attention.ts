/**
 * Grouped-query causal self-attention, computed per (batch row, head) with plain 2-D products
 * (the wasm fast path): `softmax(q·kᵀ·scale + mask) · v`. Query head `h` reads key/value head
 * `h / (heads / kvHeads)`, as Hugging Face's `repeat_kv` arranges them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mm } from './matmul';

export interface AttentionShape {
  batchSize: number;
  seqLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** [B·T, H, d] → H·B tensors [T, d], ordered (row, head). */
function perHead(x: tf.Tensor3D, s: AttentionShape, heads: number): tf.Tensor2D[] {
  const { batchSize: B, seqLen: T, headDim: d } = s;
  const t = tf.transpose(tf.reshape(x, [B, T, heads, d]), [0, 2, 1, 3]);
  return tf.unstack(tf.reshape(t, [B * heads, T, d])) as tf.Tensor2D[];
}

/**
 * `q` [B·T, H, d] (already rotated), `k` [B·T, KV, d] (rotated), `v` [B·T, KV, d];
 * `masks[b]` is the additive [T, T] mask of row b. Returns [B·T, H·d].
 */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  masks: tf.Tensor2D[],
  s: AttentionShape,
): tf.Tensor2D {
  const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
  const group = H / KV;
  const qs = perHead(tf.mul(q, 1 / Math.sqrt(d)) as tf.Tensor3D, s, H);
  const ks = perHead(k, s, KV);
  const vs = perHead(v, s, KV);
  const outs: tf.Tensor2D[] = [];
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < KV; g++) {
      const kT = tf.transpose(ks[b * KV + g]);
      const vh = vs[b * KV + g];
      for (let r = 0; r < group; r++) {
        const h = g * group + r;
        const scores = tf.add(mm(qs[b * H + h], kT), masks[b]) as tf.Tensor2D;
        outs.push(mm(tf.softmax(scores), vh));
      }
    }
  }
  // outs is ordered (b, h): stack → [B, H, T, d] → [B, T, H, d] → [B·T, H·d]
  const stacked = tf.reshape(tf.stack(outs), [B, H, T, d]);
  return tf.reshape(tf.transpose(stacked, [0, 2, 1, 3]), [B * T, H * d]);
}
