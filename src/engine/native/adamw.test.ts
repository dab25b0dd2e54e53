/**
 * The fused native AdamW step against a float64 transcription of torch.optim.AdamW and the
 * stock tfjs expression of the same formulas, on the cpu and wasm backends (odd sizes, the
 * threaded size, decay on/off, several steps), and where it declines to run.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { AdamW } from '../optim/adamw';
import { setNativeOpsEnabled } from './active';
import { nativeAdamWUpdate, type AdamWHyper } from './adamw';
import { loadNativeAddon, resetNativeAddon } from './addon';
import { randomFloat32, relativeError } from './reference';
import { registerNativeKernels, restoreStockKernels } from './register';

/** torch.optim.AdamW (single tensor) in float64, `steps` steps with gradients `grads[t]`. */
function reference(p0: Float32Array, grads: Float32Array[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8) {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
    }
  });
  return { p, m, v };
}

function hyperAt(t: number, lr: number, wd: number): AdamWHyper {
  return { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: lr / (1 - 0.9 ** t), bc2Sqrt: Math.sqrt(1 - 0.999 ** t), decay: 1 - lr * wd };
}

/** The stock-op expression adamw.ts uses. */
function stockStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWHyper) {
  return tf.tidy(() => {
    const nm = tf.add(m, tf.mul(tf.sub(g, m), 1 - h.beta1));
    const nv = tf.add(tf.mul(v, h.beta2), tf.mul(tf.mul(g, g), 1 - h.beta2));
    const denom = tf.add(tf.div(tf.sqrt(nv), h.bc2Sqrt), h.eps);
    const base = h.decay === 1 ? p : tf.mul(p, h.decay);
    return { p: tf.add(base, tf.mul(tf.div(nm, denom), -h.stepSize)), m: nm, v: nv };
  });
}

describe.each(['cpu', 'wasm'])('native AdamW on %s', (backend) => {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(`native addon required for these tests: ${load.reason}`);

  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });
  afterEach(() => jest.restoreAllMocks());

  test.each([
    [1, 0],
    [7, 0.01],
    [1031, 0.1],
    [262_147, 0.01], // above the threading threshold (2^18)
  ])('n = %d, weight decay %d: 3 steps vs float64 torch and the stock ops', (n, wd) => {
    const lr = 1e-2;
    const p0 = randomFloat32(n, n);
    const grads = [1, 2, 3].map((k) => randomFloat32(n, 100 * n + k).map((x) => x * 10 ** (k - 2)));
    let p: tf.Tensor = tf.tensor1d(p0);
    let m = tf.zeros([n]);
    let v = tf.zeros([n]);
    let sp: tf.Tensor = p.clone();
    let sm = m.clone();
    let sv = v.clone();
    grads.forEach((gv, k) => {
      const g = tf.tensor1d(gv);
      const h = hyperAt(k + 1, lr, wd);
      const out = nativeAdamWUpdate(p, g, m, v, h);
      expect(out).not.toBeNull();
      const s = stockStep(sp, g, sm, sv, h);
      tf.dispose([p, m, v, sp, sm, sv, g]);
      ({ p, m, v } = out as { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor });
      ({ p: sp, m: sm, v: sv } = s);
    });
    const ref = reference(p0, grads, lr, wd);
    // Compare the update p − p0 (the parameter itself hides errors in the small steps).
    const delta = (x: tf.Tensor) => Float64Array.from(x.dataSync(), (y, i) => y - p0[i]);
    const refDelta = ref.p.map((y, i) => y - p0[i]);
    expect(relativeError(delta(p), refDelta)).toBeLessThan(1e-4);
    expect(relativeError(m.dataSync(), ref.m)).toBeLessThan(1e-5);
    expect(relativeError(v.dataSync(), ref.v)).toBeLessThan(1e-5);
    expect(relativeError(delta(p), delta(sp))).toBeLessThan(1e-4);
    expect(relativeError(m.dataSync(), sm.dataSync())).toBeLessThan(1e-6);
    expect(relativeError(v.dataSync(), sv.dataSync())).toBeLessThan(1e-6);
    tf.dispose([p, m, v, sp, sm, sv]);
  });

  test('AdamW (optim/adamw.ts) takes the fused kernel when native ops are active; same state as stock', () => {
    expect(registerNativeKernels(backend as 'cpu' | 'wasm').active).toBe(true);
    const shapes: Record<string, number[]> = { 'a.weight': [33, 17], 'b.bias': [5] };
    const make = () => new Map(Object.entries(shapes).map(([k, s], i) => [k, tf.variable(tf.tensor(randomFloat32(s[0] * (s[1] ?? 1), i + 1), s))]));
    const pn = make();
    const ps = make();
    const on = new AdamW(pn, { weightDecay: 0.1 });
    const off = new AdamW(ps, { weightDecay: 0.1 });
    const kernel = jest.spyOn(load.ok ? load.addon : ({} as never), 'adamwUpdate');
    try {
      for (let t = 0; t < 3; t++) {
        const grads = new Map(Object.entries(shapes).map(([k, s], i) => [k, tf.tensor(randomFloat32(s[0] * (s[1] ?? 1), 50 + 3 * t + i), s)]));
        setNativeOpsEnabled(true);
        on.step(grads, 1e-2);
        setNativeOpsEnabled(false);
        off.step(grads, 1e-2);
        tf.dispose([...grads.values()]);
      }
    } finally {
      setNativeOpsEnabled(true);
      restoreStockKernels(backend as 'cpu' | 'wasm');
    }
    expect(kernel).toHaveBeenCalledTimes(3 * 2);
    const a = on.exportState();
    const b = off.exportState();
    for (const k of Object.keys(shapes)) {
      expect(relativeError(pn.get(k)!.dataSync(), ps.get(k)!.dataSync())).toBeLessThan(1e-6);
      expect(relativeError(a.params[k].m, b.params[k].m)).toBeLessThan(1e-6);
      expect(relativeError(a.params[k].v, b.params[k].v)).toBeLessThan(1e-6);
      expect(a.params[k].step).toBe(3);
    }
    on.dispose();
    off.dispose();
    tf.dispose([...pn.values(), ...ps.values()]);
  });

  test('declines (null) for non-float32 or mismatched shapes', () => {
    const h = hyperAt(1, 1e-3, 0);
    const f = tf.zeros([4]);
    expect(nativeAdamWUpdate(f, tf.zeros([4], 'int32'), f, f, h)).toBeNull();
    expect(nativeAdamWUpdate(f, tf.zeros([5]), f, f, h)).toBeNull();
  });
});

test('without the addon: null (the caller keeps its stock path)', async () => {
  await tf.setBackend('cpu');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  resetNativeAddon({ path: '/nonexistent/ptflow_native.node' });
  try {
    const f = tf.zeros([4]);
    expect(nativeAdamWUpdate(f, f, f, f, hyperAt(1, 1e-3, 0))).toBeNull();
  } finally {
    resetNativeAddon();
    jest.restoreAllMocks();
  }
});
