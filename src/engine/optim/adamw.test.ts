import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW } from './adamw';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors, type WritableTensor } from '../io/safetensors';
import { adamwStateFromTensors, adamwStateToTensors, restoreAdamWState, saveAdamWState } from './adamw-state';
import { hfDecayFilter } from './decay';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** torch.optim.AdamW for one parameter, in plain double-precision JS (reference). */
function refAdamW(
  p0: number[], grads: number[][], lrs: number[],
  o: { b1: number; b2: number; eps: number; wd: number },
): { p: number[]; m: number[]; v: number[] } {
  const p = p0.slice();
  const m = p0.map(() => 0);
  const v = p0.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = lrs[k];
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const mhat = m[i] / (1 - o.b1 ** t);
      const vhat = v[i] / (1 - o.b2 ** t);
      p[i] -= (lr * mhat) / (Math.sqrt(vhat) + o.eps);
    }
  });
  return { p, m, v };
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i])));
  }
}

describe('AdamW', () => {
  test('one step without weight decay: first step moves each weight by ≈ lr·sign(g)', () => {
    const w = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]), true, 'adamw_t1_w');
    const opt = new AdamW(new Map([['model.layers.0.mlp.up_proj.weight', w]]));
    const g = tf.tensor2d([[0.1, -0.2], [0.003, 4]]);
    opt.step(new Map([['model.layers.0.mlp.up_proj.weight', g]]), 0.01);
    // Hand-derived: m̂ = g, v̂ = g², update = lr·g/(|g|+1e-8) ≈ lr·sign(g).
    const hand = [1 - 0.01 * (0.1 / (0.1 + 1e-8)), -2 + 0.01 * (0.2 / (0.2 + 1e-8)), 0.5 - 0.01 * (0.003 / (0.003 + 1e-8)), 3 - 0.01 * (4 / (4 + 1e-8))];
    expectClose(w.dataSync(), hand);
    expect(opt.stepCount).toBe(1);
    g.dispose();
    opt.dispose();
    w.dispose();
  });

  test('weight decay is decoupled and skipped for norm weights and biases', () => {
    const names = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.input_layernorm.weight', 'model.norm.weight', 'lm_head.bias'];
    const init = [[2, -1], [1, 1], [1.5, 0.5], [0.2, -0.3]];
    const gv = [[0.5, 0.25], [-0.1, 0.2], [0.3, -0.3], [1, 2]];
    const vars = names.map((n, i) => tf.variable(tf.tensor1d(init[i]), true, `adamw_t2_${i}`));
    const opt = new AdamW(new Map(names.map((n, i) => [n, vars[i]])), { weightDecay: 0.1 });
    const grads = new Map(names.map((n, i) => [n, tf.tensor1d(gv[i])]));
    opt.step(grads, 0.05);
    const cfg = { b1: 0.9, b2: 0.999, eps: 1e-8 };
    // q_proj decays: p·(1 − 0.05·0.1) then the Adam update (by hand for the first element: 2·0.995 − 0.05·0.5/(0.5+1e-8)).
    expect(vars[0].dataSync()[0]).toBeCloseTo(2 * 0.995 - 0.05 * (0.5 / (0.5 + 1e-8)), 6);
    expectClose(vars[0].dataSync(), refAdamW(init[0], [gv[0]], [0.05], { ...cfg, wd: 0.1 }).p);
    for (const i of [1, 2, 3]) expectClose(vars[i].dataSync(), refAdamW(init[i], [gv[i]], [0.05], { ...cfg, wd: 0 }).p);
    expect(opt.decays(names[0])).toBe(true);
    expect(opt.decays(names[1])).toBe(false);
    grads.forEach((g) => g.dispose());
    opt.dispose();
    vars.forEach((v) => v.dispose());
  });

  test('bias correction over three steps with changing lr matches the reference', () => {
    const init = [0.3, -0.7, 1.1];
    const gs = [[0.2, -0.5, 0.01], [-0.4, 0.1, 0.02], [0.3, 0.3, -0.05]];
    const lrs = [1e-3, 2e-3, 5e-4];
    const o = { b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.01 };
    const w = tf.variable(tf.tensor1d(init), true, 'adamw_t3_w');
    const opt = new AdamW(new Map([['w', w]]), { beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd }, () => true);
    for (let k = 0; k < 3; k++) {
      const g = tf.tensor1d(gs[k]);
      opt.step(new Map([['w', g]]), lrs[k]);
      g.dispose();
    }
    const ref = refAdamW(init, gs, lrs, o);
    expectClose(w.dataSync(), ref.p);
    const st = opt.exportState();
    expect(st.step).toBe(3);
    expect(st.params.w.step).toBe(3);
    expectClose(st.params.w.m, ref.m);
    expectClose(st.params.w.v, ref.v);
    // Step 2 by hand for element 0 (b1 = .8, b2 = .95): m = .8·(.2·.2) + .2·(−.4) = −.048 …
    const m2 = 0.8 * (0.2 * 0.2) + 0.2 * -0.4;
    expect(m2).toBeCloseTo(-0.048, 12);
    opt.dispose();
    w.dispose();
  });

  test('a parameter without a gradient is skipped and keeps its own step count', () => {
    const a = tf.variable(tf.tensor1d([1]), true, 'adamw_t4_a');
    const b = tf.variable(tf.tensor1d([1]), true, 'adamw_t4_b');
    const opt = new AdamW(new Map([['a', a], ['b', b]]));
    const g = tf.tensor1d([0.5]);
    opt.step(new Map([['a', g]]), 0.1);
    opt.step(new Map([['a', g], ['b', g]]), 0.1);
    expect(b.dataSync()[0]).toBeCloseTo(1 - 0.1, 6); // b's first step: t = 1
    const st = opt.exportState();
    expect(st.params.a.step).toBe(2);
    expect(st.params.b.step).toBe(1);
    g.dispose();
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  test('no tensors leak across steps; export/import round trip continues identically', () => {
    const mk = (tag: string): tf.Variable => tf.variable(tf.tensor2d([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), true, `adamw_t5_${tag}`);
    const w1 = mk('a');
    const opt1 = new AdamW(new Map([['w', w1]]), { weightDecay: 0.1 }, () => true);
    const g = tf.tensor2d([[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]]);
    opt1.step(new Map([['w', g]]), 0.01);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) opt1.step(new Map([['w', g]]), 0.01);
    expect(tf.memory().numTensors).toBe(before);

    // Save through the safetensors tensor form, restore into a fresh optimizer over a copy of w.
    const { tensors, metadata } = adamwStateToTensors(opt1.exportState());
    expect([...tensors.keys()].sort()).toEqual(['w.exp_avg', 'w.exp_avg_sq']);
    const w2 = tf.variable(w1.clone(), true, 'adamw_t5_b');
    const opt2 = new AdamW(new Map([['w', w2]]), { weightDecay: 0.1 }, () => true);
    opt2.importState(adamwStateFromTensors(tensors, metadata, 'optimizer.safetensors'));
    expect(opt2.stepCount).toBe(4);
    opt1.step(new Map([['w', g]]), 0.02);
    opt2.step(new Map([['w', g]]), 0.02);
    expect(Array.from(w2.dataSync())).toEqual(Array.from(w1.dataSync()));
    g.dispose();
    opt1.dispose();
    opt2.dispose();
    w1.dispose();
    w2.dispose();
  });

  test('restoring from a file one parameter at a time: the same state, the same next step; a bad file leaves the state as it was', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-adamw-'));
    const vars = (tag: string) => new Map<string, tf.Variable>([
      ['w', tf.variable(tf.tensor2d([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), true, `adamw_t7_w${tag}`)],
      ['b', tf.variable(tf.tensor1d([0.5, -0.5]), true, `adamw_t7_b${tag}`)],
    ]);
    const p1 = vars('1');
    const opt1 = new AdamW(p1, { weightDecay: 0.1 }, () => true);
    const grads = new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]])], ['b', tf.tensor1d([0.3, 0.7])]]);
    opt1.step(grads, 0.01);
    opt1.step(new Map([['w', grads.get('w')!]]), 0.01); // b skips a step: its own count
    const file = path.join(dir, 'optimizer.safetensors');
    await saveAdamWState(file, opt1.exportState());
    const p2 = vars('2');
    for (const [k, v] of p2) v.assign(p1.get(k)!);
    const opt2 = new AdamW(p2, { weightDecay: 0.1 }, () => true);
    await restoreAdamWState(file, opt2);
    const a = opt1.exportState();
    const b = opt2.exportState();
    expect(b.step).toBe(2);
    expect(b.params.b.step).toBe(1);
    for (const k of ['w', 'b']) {
      expect(b.params[k].step).toBe(a.params[k].step);
      expect(Buffer.from(b.params[k].m.buffer).equals(Buffer.from(a.params[k].m.buffer))).toBe(true);
      expect(Buffer.from(b.params[k].v.buffer).equals(Buffer.from(a.params[k].v.buffer))).toBe(true);
    }
    opt1.step(grads, 0.02);
    opt2.step(grads, 0.02);
    for (const k of ['w', 'b']) expect(Array.from(p2.get(k)!.dataSync())).toEqual(Array.from(p1.get(k)!.dataSync()));

    // Bad files: refused before anything is replaced (opt2 keeps the state it has).
    const kept = opt2.exportState();
    const t = adamwStateToTensors(a);
    const write = async (name: string, tensors: Map<string, WritableTensor>, metadata = t.metadata) => {
      const f = path.join(dir, name);
      await writeSafetensors(f, tensors, metadata);
      return f;
    };
    const without = new Map(t.tensors);
    without.delete('b.exp_avg_sq');
    await expect(restoreAdamWState(await write('missing.safetensors', without), opt2)).rejects.toThrow(/missing\.safetensors: missing tensor b\.exp_avg_sq/);
    await expect(restoreAdamWState(await write('extra.safetensors', new Map([...t.tensors, ['c.exp_avg', { shape: [1], data: new Float32Array(1) }]])), opt2))
      .rejects.toThrow(/extra\.safetensors: unexpected tensor c\.exp_avg/);
    await expect(restoreAdamWState(await write('shape.safetensors', new Map([...t.tensors, ['b.exp_avg', { shape: [3], data: new Float32Array(3) }]])), opt2))
      .rejects.toThrow(/AdamW state: b has shape \[3\] \(3\/2 values\), parameter has \[2\]/);
    await expect(restoreAdamWState(await write('ints.safetensors', new Map<string, WritableTensor>([...t.tensors, ['w.exp_avg', { shape: [2, 3], data: new Int32Array(6) }]])), opt2))
      .rejects.toThrow(/ints\.safetensors: tensor w\.exp_avg has dtype I32; a floating-point tensor was expected/);
    await expect(restoreAdamWState(await write('format.safetensors', t.tensors, { ...t.metadata, format: 'other' }), opt2)).rejects.toThrow(/__metadata__\.format is "other"/);
    const after = opt2.exportState();
    expect(after.step).toBe(kept.step);
    for (const k of ['w', 'b']) expect(Buffer.from(after.params[k].m.buffer).equals(Buffer.from(kept.params[k].m.buffer))).toBe(true);
    for (const g of grads.values()) g.dispose();
    opt1.dispose();
    opt2.dispose();
    for (const v of [...p1.values(), ...p2.values()]) v.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bad input is rejected with the parameter named', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'adamw_t6_w');
    const opt = new AdamW(new Map([['w', w]]));
    const g = tf.tensor1d([1, 2, 3]);
    expect(() => opt.step(new Map([['w', g]]), 0.1)).toThrow(/gradient of w has shape \[3\]/);
    expect(() => opt.step(new Map([['x', g]]), 0.1)).toThrow(/unknown parameter x/);
    expect(() => opt.importState({ step: 1, params: { w: { step: 1, shape: [3], m: new Float32Array(3), v: new Float32Array(3) } } })).toThrow(/AdamW state: w/);
    expect(() => adamwStateFromTensors(new Map(), { format: 'ptflow.adamw.v1', step: '1', param_steps: '{"w":1}' }, 'opt.safetensors')).toThrow(/opt.safetensors: missing tensor w.exp_avg/);
    g.dispose();
    opt.dispose();
    w.dispose();
  });
});

describe('hfDecayFilter', () => {
  test.each([
    ['model.embed_tokens.weight', true],
    ['model.layers.3.self_attn.o_proj.weight', true],
    ['lm_head.weight', true],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', true],
    ['model.layers.3.input_layernorm.weight', false],
    ['model.layers.3.post_attention_layernorm.weight', false],
    ['model.norm.weight', false],
    ['encoder.LayerNorm.weight', false],
    ['model.layers.0.self_attn.q_norm.weight', false],
    ['model.layers.0.self_attn.q_proj.bias', false],
    ['model.normalizer.weight', true],
  ])('%s → %s', (name, decays) => {
    expect(hfDecayFilter(name)).toBe(decays);
  });
});
