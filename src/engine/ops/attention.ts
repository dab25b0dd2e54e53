/**
 * Grouped-query causal self-attention as one op with a hand-written backward pass, computed per
 * (batch row, head) with plain 2-D products (the wasm fast path) on 2-D slices of the
 * projections (no layout transposes):
 *   forward   S = (q·s)·kᵀ + M,  P = softmax(S),  O = P·v           (s = 1/√d)
 *   backward  dP = dO·vᵀ,  dS = P∘(dP − rowsum(dP∘P)),
 *             dq = s·dS·k,  dk = dSᵀ·(q·s),  dv = Pᵀ·dO
 * Query head `h` reads key/value head `h / (heads / kvHeads)`, as HF's `repeat_kv` arranges them;
 * the gradients of a shared kv head are summed over its query heads. With the native kernels
 * active the whole op is one fused native kernel pair (src/engine/native/attention.ts; the
 * transposed products below then take transpose flags where it declines).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeAttention, nativeOpsActive } from '../native';
import { customOp } from './custom-op';

export interface AttentionShape {
  batchSize: number;
  seqLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** Rows of batch row `b`, columns of head `h`: [T, d]. */
function headSlice(x: tf.Tensor, b: number, h: number, T: number, d: number): tf.Tensor2D {
  return tf.slice(x as tf.Tensor2D, [b * T, h * d], [T, d]);
}

/** Inverse of `headSlice` over all (b, h): `parts[b][h]` [T, d] → [B·T, H·d]. */
function assemble(parts: tf.Tensor2D[][]): tf.Tensor2D {
  return tf.concat(parts.map((row) => (row.length === 1 ? row[0] : tf.concat(row, 1))), 0);
}

/**
 * `q` [B·T, H·d] and `k` [B·T, KV·d] (both already rotated), `v` [B·T, KV·d]; `masks[b]` is the
 * additive [T, T] mask of batch row b. Returns [B·T, H·d].
 */
export function attention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  masks: tf.Tensor2D[],
  s: AttentionShape,
): tf.Tensor2D {
  if (nativeOpsActive()) {
    const fused = nativeAttention(q, k, v, masks, s);
    if (fused !== null) return fused;
  }
  const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
  const group = H / KV;
  const scale = 1 / Math.sqrt(d);
  // a·bᵀ and aᵀ·b: transpose flags where the native kernels make any layout fast.
  const flags = nativeOpsActive();
  const abT = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => (flags ? tf.matMul(a, b, false, true) : tf.matMul(a, tf.transpose(b)));
  const aTb = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => (flags ? tf.matMul(a, b, true, false) : tf.matMul(tf.transpose(a), b));
  return customOp<tf.Tensor2D>(([qi, ki, vi], save) => {
    const qs = tf.mul(qi, scale);
    const probs: tf.Tensor2D[] = [];
    const outs: tf.Tensor2D[][] = [];
    for (let b = 0; b < B; b++) {
      const row: tf.Tensor2D[] = [];
      for (let g = 0; g < KV; g++) {
        const kh = headSlice(ki, b, g, T, d);
        const vh = headSlice(vi, b, g, T, d);
        for (let r = 0; r < group; r++) {
          const h = g * group + r;
          const p = tf.softmax(tf.add(abT(headSlice(qs, b, h, T, d), kh), masks[b])) as tf.Tensor2D;
          probs.push(p);
          row.push(tf.matMul(p, vh));
        }
      }
      outs.push(row);
    }
    save([qs, ki, vi, ...probs]);
    return {
      value: assemble(outs),
      gradFunc: (dy, saved) => {
        const [sq, sk, sv] = saved;
        const P = saved.slice(3) as tf.Tensor2D[];
        const dq: tf.Tensor2D[][] = [];
        const dk: tf.Tensor2D[][] = [];
        const dv: tf.Tensor2D[][] = [];
        for (let b = 0; b < B; b++) {
          const dqRow: tf.Tensor2D[] = [];
          const dkRow: tf.Tensor2D[] = [];
          const dvRow: tf.Tensor2D[] = [];
          for (let g = 0; g < KV; g++) {
            const kh = headSlice(sk, b, g, T, d);
            const vh = headSlice(sv, b, g, T, d);
            let dkG: tf.Tensor | null = null;
            let dvG: tf.Tensor | null = null;
            for (let r = 0; r < group; r++) {
              const h = g * group + r;
              const p = P[b * H + h];
              const dO = headSlice(dy, b, h, T, d);
              const dP = abT(dO, vh);
              const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), 1, true))) as tf.Tensor2D;
              dqRow.push(tf.matMul(dS, kh));
              const dkH = aTb(dS, headSlice(sq, b, h, T, d));
              const dvH = aTb(p, dO);
              dkG = dkG ? tf.add(dkG, dkH) : dkH;
              dvG = dvG ? tf.add(dvG, dvH) : dvH;
            }
            dkRow.push(dkG as tf.Tensor2D);
            dvRow.push(dvG as tf.Tensor2D);
          }
          dq.push(dqRow);
          dk.push(dkRow);
          dv.push(dvRow);
        }
        return [tf.mul(assemble(dq), scale), assemble(dk), assemble(dv)];
      },
    };
  })(q, k, v);
}
