/**
 * The fused native attention against ptflow's stock attention op (ops/attention.ts with the
 * native op forms off) on the cpu and wasm backends: GQA, odd sizes, padding and segment masks
 * (rows with no visible key included), values and the gradients of q, k and v; every
 * instruction-set path; bad shapes; declining without the addon.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { PtflowError } from '../../errors';
import { finiteDifferences, worstRatio } from '../gradcheck/finite-diff';
import { attention } from '../ops/attention';
import { additiveMaskRow } from '../ops/attention-mask';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { type NativeAttentionShape, nativeAttention } from './attention';
import { randomFloat32, relativeError } from './reference';
import { useNativeKernels } from '../../../test/native-kernel-hooks';

const SHAPES: NativeAttentionShape[] = [
  { batchSize: 1, seqLen: 1, heads: 1, kvHeads: 1, headDim: 1 },
  { batchSize: 3, seqLen: 7, heads: 6, kvHeads: 2, headDim: 5 },
  { batchSize: 2, seqLen: 33, heads: 4, kvHeads: 4, headDim: 16 },
  { batchSize: 2, seqLen: 64, heads: 4, kvHeads: 2, headDim: 32 }, // large enough to run threaded
  // Rows span three 64-column blocks: the kernels skip the masked blocks of each row.
  { batchSize: 3, seqLen: 150, heads: 2, kvHeads: 1, headDim: 8 },
  // The model's head size: whole register tiles, and a last key block of 8 columns.
  { batchSize: 2, seqLen: 200, heads: 3, kvHeads: 1, headDim: 64 },
];

/** Padding at the end of row 0, left padding on row 1, two documents on row 2. */
function masksFor(s: NativeAttentionShape): tf.Tensor2D[] {
  const { batchSize: B, seqLen: T } = s;
  const attentionMask = new Int32Array(B * T).fill(1);
  const segmentIds = new Int32Array(B * T).fill(1);
  if (T > 2) {
    attentionMask[T - 1] = 0;
    if (B > 1) attentionMask[T] = 0;
    if (B > 2) for (let t = 2 * T + (T >> 1); t < 3 * T; t++) segmentIds[t] = 2;
  }
  return Array.from({ length: B }, (_, r) => tf.tensor2d(additiveMaskRow({ batchSize: B, seqLen: T, attentionMask, segmentIds }, r), [T, T]));
}

type Result = Float32Array[];

/** softmax(s·q·kᵀ + mask)·v per (batch row, head) in float64, the layout of ops/attention.ts. */
function attention64(q: Float64Array, k: Float64Array, v: Float64Array, masks: Float64Array[], s: NativeAttentionShape): Float64Array {
  const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
  const out = new Float64Array(B * T * H * d);
  const scale = 1 / Math.sqrt(d);
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      for (let i = 0; i < T; i++) {
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[(b * T + i) * H * d + h * d + c] * k[(b * T + j) * KV * d + g * d + c];
          p[j] = scale * dot + masks[b][i * T + j];
          m = Math.max(m, p[j]);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += (p[j] = Math.exp(p[j] - m));
        for (let c = 0; c < d; c++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += p[j] * v[(b * T + j) * KV * d + g * d + c];
          out[(b * T + i) * H * d + h * d + c] = acc / sum;
        }
      }
    }
  return out;
}

/** Output, then dq, dk, dv of Σ w ⊙ attention(q, k, v). */
function evaluate(f: (q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D) => tf.Tensor2D, s: NativeAttentionShape, seed: number): Result {
  const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
  return tf.tidy(() => {
    const q = tf.tensor2d(randomFloat32(B * T * H * d, seed).map((x) => 2 * x), [B * T, H * d]);
    const k = tf.tensor2d(randomFloat32(B * T * KV * d, seed + 1).map((x) => 2 * x), [B * T, KV * d]);
    const v = tf.tensor2d(randomFloat32(B * T * KV * d, seed + 2), [B * T, KV * d]);
    const w = tf.tensor2d(randomFloat32(B * T * H * d, seed + 3), [B * T, H * d]);
    const out = f(q, k, v).dataSync() as Float32Array;
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D), w)))([q, k, v]);
    return [Float32Array.from(out), ...grads.map((g) => Float32Array.from(g.dataSync() as Float32Array))];
  });
}

describe.each(['cpu', 'wasm'] as const)('native attention on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);
  const addon = load.addon;

  useNativeKernels(backend);
  afterEach(() => jest.restoreAllMocks());

  test.each(SHAPES)('matches the stock op, value and gradients: %o', (s) => {
    const masks = masksFor(s);
    const fwd = jest.spyOn(addon, 'attnForward');
    setNativeOpsEnabled(true);
    const native = evaluate((q, k, v) => attention(q, k, v, masks, s), s, 3);
    expect(fwd).toHaveBeenCalled();
    fwd.mockClear();
    setNativeOpsEnabled(false);
    const stock = evaluate((q, k, v) => attention(q, k, v, masks, s), s, 3);
    setNativeOpsEnabled(true);
    expect(fwd).not.toHaveBeenCalled();
    native.forEach((x, i) => expect(relativeError(x, stock[i])).toBeLessThan(1e-5));
    tf.dispose(masks);
  });

  test('every instruction-set path gives the same result', () => {
    const s = SHAPES[1];
    const masks = masksFor(s);
    const isa = addon.info().isa;
    try {
      const runs = addon.info().available.map((name) => {
        expect(addon.setIsa(name)).toBe(true);
        return evaluate((q, k, v) => nativeAttention(q, k, v, masks, s) as tf.Tensor2D, s, 9);
      });
      for (const r of runs.slice(1)) r.forEach((x, i) => expect(relativeError(x, runs[0][i])).toBeLessThan(1e-5));
    } finally {
      addon.setIsa(isa);
      tf.dispose(masks);
    }
  });

  test('results do not depend on the thread count (per-head shares of dk, dv summed in head order)', () => {
    const s = SHAPES[3];
    const masks = masksFor(s);
    const threads = addon.getNumThreads();
    try {
      addon.setNumThreads(1);
      const one = evaluate((q, k, v) => nativeAttention(q, k, v, masks, s) as tf.Tensor2D, s, 13);
      addon.setNumThreads(3);
      const three = evaluate((q, k, v) => nativeAttention(q, k, v, masks, s) as tf.Tensor2D, s, 13);
      one.forEach((x, i) => expect(Buffer.from(three[i].buffer).equals(Buffer.from(x.buffer))).toBe(true));
    } finally {
      addon.setNumThreads(threads);
      tf.dispose(masks);
    }
  });

  test('masked scores get probability exactly 0 in the recomputed backward (no subnormal tails)', () => {
    // Key T−1 is padding: no query sees it, so its dk and dv rows are exactly 0, and every
    // query row's statistics hold a finite max and 1/sum.
    const s: NativeAttentionShape = { batchSize: 1, seqLen: 40, heads: 2, kvHeads: 1, headDim: 8 };
    const T = s.seqLen;
    const n = T * s.heads * s.headDim;
    const q = randomFloat32(n, 1);
    const kv = randomFloat32(T * s.headDim, 2);
    const attentionMask = new Int32Array(T).fill(1);
    attentionMask[T - 1] = 0;
    const mask = additiveMaskRow({ batchSize: 1, seqLen: T, attentionMask }, 0);
    const desc = new Float64Array([1, T, 2, 1, 8, 1 / Math.sqrt(8)]);
    const out = new Float32Array(n);
    const stats = new Float32Array(s.heads * T * 2);
    addon.attnForward!(q, 0, kv, 0, kv, 0, mask, 0, out, 0, stats, 0, desc);
    for (const x of stats) expect(Number.isFinite(x)).toBe(true);
    const dq = new Float32Array(n);
    const dk = new Float32Array(T * 8).fill(NaN);
    const dv = new Float32Array(T * 8).fill(NaN);
    addon.attnBackward!(q, 0, kv, 0, kv, 0, mask, 0, stats, 0, randomFloat32(n, 3), 0, dq, 0, dk, 0, dv, 0, desc);
    for (let c = 0; c < 8; c++) {
      expect(dk[(T - 1) * 8 + c]).toBe(0);
      expect(dv[(T - 1) * 8 + c]).toBe(0);
      expect(Math.abs(dv[(T - 2) * 8 + c])).toBeGreaterThan(1e-30);
    }
  });

  test('masked columns whose scores could still win are not skipped', () => {
    // Causal mask with −2e4 (not −1e9) above the diagonal and scores up to ~2e6: a masked
    // column can hold a row's largest score, so the kernel must visit it (rows < 64 would
    // otherwise skip columns 64…T−1). Integer q, k and head size 4 (scale 1/2) make every score
    // exact in float32, so the result is compared with a float64 attention.
    const s: NativeAttentionShape = { batchSize: 1, seqLen: 130, heads: 2, kvHeads: 1, headDim: 4 };
    const { seqLen: T, heads: H, headDim: d } = s;
    let x = 12345;
    const int = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), ((x >>> 16) % 2001) - 1000);
    const q = Float32Array.from({ length: T * H * d }, int);
    const k = Float32Array.from({ length: T * d }, int);
    const v = randomFloat32(T * d, 5);
    const mask = (masked: number): Float32Array => Float32Array.from({ length: T * T }, (_, ij) => (ij % T <= Math.floor(ij / T) ? 0 : masked));
    const out = new Float32Array(T * H * d);
    addon.attnForward!(q, 0, k, 0, v, 0, mask(-2e4), 0, out, 0, new Float32Array(H * T * 2), 0, new Float64Array([1, T, H, 1, d, 0.5]));
    const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
    const ref = attention64(f64(q), f64(k), f64(v), [f64(mask(-2e4))], s);
    const causal = attention64(f64(q), f64(k), f64(v), [f64(mask(-1e9))], s);
    expect(relativeError(ref, causal)).toBeGreaterThan(0.01); // the masked columns matter here
    expect(relativeError(out, ref)).toBeLessThan(1e-5);
  });

  test('gradients against central finite differences of a float64 attention', () => {
    // Causal masks with two documents on row 1 and none without a visible key (a fully masked row
    // is flat only up to float32 rounding of −1e9 + score, which float64 differences resolve).
    const s = SHAPES[1];
    const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
    const segmentIds = Int32Array.from({ length: B * T }, (_, t) => (t >= T + 4 && t < 2 * T ? 2 : 1));
    const masks = Array.from({ length: B }, (_, r) =>
      tf.tensor2d(additiveMaskRow({ batchSize: B, seqLen: T, attentionMask: new Int32Array(B * T).fill(1), segmentIds }, r), [T, T]),
    );
    const maskValues = masks.map((m) => Float64Array.from(m.dataSync()));
    const [, dq, dk, dv] = evaluate((q, k, v) => nativeAttention(q, k, v, masks, s) as tf.Tensor2D, s, 21);
    const p64 = new Map<string, Float64Array>([
      ['q', Float64Array.from(randomFloat32(B * T * H * d, 21), (x) => 2 * x)],
      ['k', Float64Array.from(randomFloat32(B * T * KV * d, 22), (x) => 2 * x)],
      ['v', Float64Array.from(randomFloat32(B * T * KV * d, 23))],
    ]);
    const w = randomFloat32(B * T * H * d, 24);
    const loss = (): number => {
      const o = attention64(p64.get('q') as Float64Array, p64.get('k') as Float64Array, p64.get('v') as Float64Array, maskValues, s);
      let sum = 0;
      for (let i = 0; i < o.length; i++) sum += w[i] * o[i];
      return sum;
    };
    const fd = finiteDifferences(p64, ['q', 'k', 'v'], loss, 1e-6);
    expect(worstRatio(dq, fd.get('q') as Float64Array, 1e-3, 1e-5)).toBeLessThan(1);
    expect(worstRatio(dk, fd.get('k') as Float64Array, 1e-3, 1e-5)).toBeLessThan(1);
    expect(worstRatio(dv, fd.get('v') as Float64Array, 1e-3, 1e-5)).toBeLessThan(1);
    tf.dispose(masks);
  });

  test('the backward pass does not keep [B, H, T, T] probabilities', () => {
    // B·H·T² floats = 1 MiB here; q, k, v, the output, the stacked mask and the statistics ~0.3 MiB.
    const s: NativeAttentionShape = { batchSize: 2, seqLen: 128, heads: 8, kvHeads: 2, headDim: 8 };
    const { batchSize: B, seqLen: T, heads: H, kvHeads: KV, headDim: d } = s;
    const probsBytes = B * H * T * T * 4;
    const masks = masksFor(s);
    const held = (): number => {
      const q = tf.tensor2d(randomFloat32(B * T * H * d, 1), [B * T, H * d]);
      const kv = tf.tensor2d(randomFloat32(B * T * KV * d, 2), [B * T, KV * d]);
      const before = tf.memory().numBytes;
      let during = 0;
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.sum(attention(a as tf.Tensor2D, b as tf.Tensor2D, b as tf.Tensor2D, masks, s));
        during = tf.memory().numBytes;
        return y;
      })([q, kv]);
      tf.dispose([q, kv, ...grads]);
      return during - before;
    };
    setNativeOpsEnabled(true);
    const native = held();
    setNativeOpsEnabled(false);
    const stock = held();
    setNativeOpsEnabled(true);
    expect(native).toBeLessThan(probsBytes / 2);
    expect(stock).toBeGreaterThanOrEqual(probsBytes);
    tf.dispose(masks);
  });

  test('bad shapes are PtflowErrors naming the tensor', () => {
    const s = SHAPES[1];
    const masks = masksFor(s);
    const q = tf.zeros([21, 30]) as tf.Tensor2D;
    const kv = tf.zeros([21, 10]) as tf.Tensor2D;
    expect(() => nativeAttention(q, kv, kv, masks, s)).not.toThrow();
    expect(() => nativeAttention(q, q, kv, masks, s)).toThrow(PtflowError);
    expect(() => nativeAttention(q, q, kv, masks, s)).toThrow(/"k" has shape \[21, 30\], expected \[21, 10\]/);
    expect(() => nativeAttention(q, kv, kv, masks.slice(1), s)).toThrow(/2 masks for 3 batch rows/);
    expect(() => nativeAttention(q, kv, kv, masks, { ...s, kvHeads: 4 })).toThrow(/not a multiple/);
    tf.dispose([q, kv, ...masks]);
  });
});

test('without the addon: null (the op keeps its stock path)', async () => {
  await tf.setBackend('cpu');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
  try {
    const s = SHAPES[0];
    const x = tf.ones([1, 1]) as tf.Tensor2D;
    expect(nativeAttention(x, x, x, [tf.zeros([1, 1]) as tf.Tensor2D], s)).toBeNull();
  } finally {
    resetNativeAddon();
    jest.restoreAllMocks();
  }
});
