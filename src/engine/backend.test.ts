import { execFileSync } from 'child_process';
import { Worker } from 'worker_threads';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { PtflowError } from '../errors';
import { backendInfo, fastFlaggedMatMul, initBackend, shutdownBackend } from './backend';

const notInstalled = (id: string): never => {
  throw new Error(`Cannot find module '${id}'`);
};

/** A stand-in for @tensorflow/tfjs-node: loading it registers a 'tensorflow' backend. */
function standIn(loadable: string): (id: string) => unknown {
  return (id: string) => {
    if (id !== loadable) return notInstalled(id);
    tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
    return {};
  };
}

describe('initBackend', () => {
  afterEach(async () => {
    await shutdownBackend();
    if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
  });

  test("explicit 'tensorflow' without the packages: an error that says how to install", async () => {
    const p = initBackend('tensorflow', { requireModule: notInstalled });
    await expect(p).rejects.toThrow(PtflowError);
    await expect(p).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
    await expect(p).rejects.toThrow(/install script/);
    await expect(p).rejects.toMatchObject({ exitCode: 2 });
    // A failed init does not stick: the next call tries again.
    await expect(initBackend('cpu')).resolves.toMatchObject({ name: 'cpu' });
  });

  test("auto prefers tfjs-node-gpu, then tfjs-node; idempotent afterwards", async () => {
    const info = await initBackend('auto', { requireModule: standIn('@tensorflow/tfjs-node') });
    expect(info).toMatchObject({ name: 'tensorflow', module: '@tensorflow/tfjs-node' });
    expect(info.notes[0]).toMatch(/tfjs-node-gpu: not loaded/);
    expect(tf.getBackend()).toBe('tensorflow');
    await expect(initBackend('auto')).resolves.toBe(info);
    await expect(initBackend('tensorflow')).resolves.toBe(info);
    expect(backendInfo()).toBe(info);
    expect(fastFlaggedMatMul()).toBe(true);
    await expect(initBackend('wasm')).rejects.toThrow(/already runs 'tensorflow'/);
  });

  test('auto picks the gpu package first when both load', async () => {
    const loaded: string[] = [];
    const info = await initBackend('auto', {
      requireModule: (id) => {
        loaded.push(id);
        return standIn(id)(id);
      },
    });
    expect(info.module).toBe('@tensorflow/tfjs-node-gpu');
    expect(loaded).toEqual(['@tensorflow/tfjs-node-gpu']);
  });

  test('auto without the tensorflow packages: threaded wasm with ptflow kernels', async () => {
    const before = process.listenerCount('uncaughtException');
    const info = await initBackend('auto', { threads: 2, requireModule: notInstalled });
    expect(info).toMatchObject({ name: 'wasm', threads: 2, simd: true });
    expect(info.notes.filter((n) => /not loaded/.test(n))).toHaveLength(2);
    expect(info.notes.some((n) => n.startsWith('native kernels'))).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    expect(process.listenerCount('uncaughtException')).toBe(before);
    // The embedding gradient (tf.gather's) now runs on wasm.
    const g = tf.tidy(() => {
      const ids = tf.tensor1d([2, 0, 2], 'int32');
      const dy = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      return Array.from(tf.unsortedSegmentSum(dy, ids, 4).dataSync());
    });
    expect(g).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
  });

  test('cpu: stock UnsortedSegmentSum replaced; PTFLOW_NATIVE=0 skips the addon', async () => {
    const saved = process.env['PTFLOW_NATIVE'];
    process.env['PTFLOW_NATIVE'] = '0';
    try {
      const info = await initBackend('cpu');
      expect(info).toMatchObject({ name: 'cpu', threads: 1, simd: false, native: { active: false } });
      expect(info.notes).toContain('native kernels: disabled (PTFLOW_NATIVE=0)');
      expect(fastFlaggedMatMul(info)).toBe(false);
      expect(fastFlaggedMatMul({ ...info, native: { active: true } })).toBe(true);
      await shutdownBackend();
      expect(backendInfo()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['PTFLOW_NATIVE'];
      else process.env['PTFLOW_NATIVE'] = saved;
    }
  });

  test('bad requests are usage errors', async () => {
    await expect(initBackend('wasm', { threads: 0 })).rejects.toMatchObject({ exitCode: 2 });
    await expect(initBackend('gpu' as 'cpu')).rejects.toThrow(/unknown backend 'gpu'/);
  });

  test('a process that used threaded wasm exits by itself', () => {
    const root = path.resolve(__dirname, '../..');
    const script =
      "require('./src/engine/backend').initBackend('wasm', { threads: 2 }).then((i) => {" +
      "  const tf = require('@tensorflow/tfjs-core');" +
      '  tf.matMul(tf.ones([128, 128]), tf.ones([128, 128])).dataSync();' +
      '  process.stdout.write(String(i.threads));' +
      '});';
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: root,
      timeout: 100_000, // a hang, not a slow start (transpiling and loading wasm take 10 s or more on a busy machine)
      encoding: 'utf8',
    });
    expect(out).toBe('2');
  });

  test('threaded wasm inside a worker thread (where the trainer runs); the worker exits by itself', async () => {
    const root = path.resolve(__dirname, '../..');
    const code =
      "const { parentPort } = require('worker_threads');" +
      `require(${JSON.stringify(path.join(root, 'src/engine/backend'))}).initBackend('wasm', { threads: 2 }).then((i) => {` +
      `  const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))});` +
      '  const s = tf.sum(tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]))).dataSync()[0];' +
      '  parentPort.postMessage({ threads: i.threads, s });' +
      '});';
    const w = new Worker(code, { eval: true, execArgv: ['-r', 'ts-node/register/transpile-only'] });
    const msg = await new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(msg).toEqual({ threads: 2, s: 64 * 64 * 64 });
    const code2 = await new Promise<number>((resolve) => w.once('exit', resolve));
    expect(code2).toBe(0);
  });
});
