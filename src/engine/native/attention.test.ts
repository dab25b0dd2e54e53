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
import { attention } from '../ops/attention';
import { additiveMaskRow } from '../ops/attention-mask';
import { setNativeOpsEnabled } from './active';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { type NativeAttentionShape, nativeAttention } from './attention';
import { randomFloat32, relativeError } from './reference';
import { registerNativeKernels, restoreStockKernels } from './register';

const SHAPES: NativeAttentionShape[] = [
  { batchSize: 1, seqLen: 1, heads: 1, kvHeads: 1, headDim: 1 },
  { batchSize: 3, seqLen: 7, heads: 6, kvHeads: 2, headDim: 5 },
  { batchSize: 2, seqLen: 33, heads: 4, kvHeads: 4, headDim: 16 },
  { batchSize: 2, seqLen: 64, heads: 4, kvHeads: 2, headDim: 32 }, // large enough to run threaded
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

  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    expect(registerNativeKernels(backend).active).toBe(true);
  });
  afterAll(() => {
    setNativeOpsEnabled(true);
    restoreStockKernels(backend);
  });
  afterEach(() => jest.restoreAllMocks());

  test.each(SHAPES)('matches the stock op, value and gradients: %o', (s) => {
    const masks = masksFor(s);
    const fwd = jest.spyOn(addon, 'attentionForward');
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

  test('masked scores get probability exactly 0 (no subnormal tails)', () => {
    const s: NativeAttentionShape = { batchSize: 1, seqLen: 40, heads: 2, kvHeads: 1, headDim: 8 };
    const T = s.seqLen;
    const n = T * s.heads * s.headDim;
    const q = randomFloat32(n, 1);
    const kv = randomFloat32(T * s.headDim, 2);
    const mask = additiveMaskRow({ batchSize: 1, seqLen: T, attentionMask: new Int32Array(T).fill(1) }, 0);
    const out = new Float32Array(n);
    const probs = new Float32Array(s.heads * T * T);
    addon.attentionForward!(q, 0, kv, 0, kv, 0, mask, 0, out, 0, probs, 0, new Float64Array([1, T, 2, 1, 8, 1 / Math.sqrt(8)]));
    for (let h = 0; h < s.heads; h++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          const p = probs[(h * T + i) * T + j];
          if (j > i) expect(p).toBe(0);
          else expect(p).toBeGreaterThan(1e-30);
        }
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
