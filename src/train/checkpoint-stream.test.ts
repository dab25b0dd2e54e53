// Checkpoints stream the weights and AdamW moments from where the backend keeps them. The files must
// be byte-identical to those written from whole copies (the writer before streaming: dataSync /
// exportState arrays), on cpu and wasm, for full and LoRA training; and the save must hold no copy
// of the optimizer state.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { retainedBytes } from '../../test/retained-memory';
import { initBackend, shutdownBackend } from '../engine/backend';
import { tinyConfig } from '../engine/gradcheck/fixtures';
import { STREAM_CHUNK_BYTES, writeSafetensors, type FloatTensor, type WritableTensor } from '../engine/io/safetensors';
import { tfTensorSource } from '../engine/io/tf-tensor-source';
import type { LlamaConfig } from '../engine/model/config';
import { LlamaModel } from '../engine/model/llama';
import { parameterShapes } from '../engine/model/names';
import { AdamW } from '../engine/optim/adamw';
import { adamwStateToTensors } from '../engine/optim/adamw-state';
import { createTrainerState } from '../outputs/trainer-state';
import { saveCheckpoint } from './checkpoint';

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ptflow-ckstream-'));
}

/**
 * A model of `cfg` (optionally LoRA) whose optimizer took two steps. Weights and gradients are
 * cheap deterministic patterns (seeded random ones take many seconds for the larger model below).
 */
function trained(cfg: LlamaConfig, lora: boolean): { model: LlamaModel; optimizer: AdamW } {
  const weights = new Map([...parameterShapes(cfg)].map(([name, shape], j) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01 * (j + 1));
    for (let i = 0; i < Math.min(data.length, 4096); i++) data[i] = Math.sin(i * 0.37 + j) * 0.1;
    return [name, { shape, data }] as const;
  }));
  const model = LlamaModel.fromWeights(cfg, weights);
  if (lora) model.setFinetuning({ finetuningType: 'lora', rank: 2, seed: 3 });
  const params = model.trainableParams();
  const optimizer = new AdamW(params, { weightDecay: 0.1 });
  for (let k = 0; k < 2; k++) {
    const grads = new Map([...params].map(([n, v]) => [n, tf.tidy(() => tf.add(tf.mul(v, 3 + k), 0.01 * (k + 1)))] as const));
    optimizer.step(grads, 1e-2);
    for (const g of grads.values()) g.dispose();
  }
  return { model, optimizer };
}

async function save(outputDir: string, model: LlamaModel, optimizer: AdamW): Promise<string> {
  const { dir } = await saveCheckpoint(outputDir, {
    model, optimizer, trainerState: createTrainerState({ global_step: 2 }),
    progress: { lossSinceLog: 0, stepsSinceLog: 0, lossTotal: 0, tokensSeen: 0, cursor: null, skippedSteps: 0 },
    step: 2, seed: 42, tokenizerDir: outputDir, baseModelNameOrPath: null, saveOnlyModel: false, dataSettings: null,
  });
  return dir;
}

/** The weights as whole copies, as the writer before streaming gathered them. */
function copies(params: ReadonlyMap<string, tf.Variable>): Map<string, FloatTensor> {
  return new Map([...params].map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(v.dataSync() as Float32Array) }]));
}

describe.each(['cpu', 'wasm'] as const)('%s backend', (backend) => {
  beforeAll(async () => {
    expect((await initBackend(backend, { threads: 1 })).name).toBe(backend);
  });
  afterAll(async () => {
    await shutdownBackend();
  });

  test('tensor sources give the bytes of dataSync, across chunk boundaries (float32 and int32)', async () => {
    const f = tf.tidy(() => tf.reshape(tf.sin(tf.range(0, 1000, 1, 'float32')), [10, 100]));
    const i = tf.range(-500, 501, 1, 'int32');
    const dir = tmpDir();
    const fromSources = path.join(dir, 'sources.safetensors');
    await writeSafetensors(fromSources, new Map([['f', tfTensorSource(f)], ['i', tfTensorSource(i)]]), { format: 'pt' }, { chunkBytes: 12 });
    const fromCopies = path.join(dir, 'copies.safetensors');
    await writeSafetensors(fromCopies, new Map<string, WritableTensor>([
      ['f', { shape: f.shape, data: Float32Array.from(f.dataSync() as Float32Array) }],
      ['i', { shape: i.shape, data: Int32Array.from(i.dataSync() as Int32Array) }],
    ]), { format: 'pt' });
    expect(readFileSync(fromSources).equals(readFileSync(fromCopies))).toBe(true);
    // A disposed tensor is an error naming the file and the tensor.
    f.dispose();
    await expect(writeSafetensors(fromSources, new Map([['f', tfTensorSource(i)], ['g', { ...tfTensorSource(i), open: () => { i.dispose(); return tfTensorSource(i).open(); } }]])))
      .rejects.toThrow(/sources\.safetensors: cannot read tensor g: tensor \[1001\] is disposed/);
    await fsp.rm(dir, { recursive: true });
  });

  test.each([false, true])('checkpoint files equal the whole-copy writer byte for byte (lora %s)', async (lora) => {
    const { model, optimizer } = trained(tinyConfig({ vocab_size: 300 }), lora);
    const out = tmpDir();
    const dir = await save(out, model, optimizer);
    const ref = tmpDir();
    const weightsFile = lora ? 'adapter_model.safetensors' : 'model.safetensors';
    await writeSafetensors(path.join(ref, weightsFile), copies(lora ? model.lora!.params : model.params), { format: 'pt' });
    const { tensors, metadata } = adamwStateToTensors(optimizer.exportState());
    await writeSafetensors(path.join(ref, 'optimizer.safetensors'), tensors, metadata);
    for (const f of [weightsFile, 'optimizer.safetensors']) {
      expect(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(ref, f)))).toBe(true);
    }
    // The moments are not all zero (the comparison would be weak otherwise).
    expect([...tensors.values()].every((t) => t.data.some((x) => x !== 0))).toBe(true);
    optimizer.dispose();
    model.dispose();
    await fsp.rm(out, { recursive: true });
    await fsp.rm(ref, { recursive: true });
  });
});

describe('memory held while saving (cpu backend)', () => {
  beforeAll(async () => {
    await initBackend('cpu', { threads: 1 });
  });
  afterAll(async () => {
    await shutdownBackend();
  });

  test('array buffers grow by at most two copy buffers, not by the AdamW state', async () => {
    // 4.3M parameters: 17 MB of weights, 34 MB of moments.
    const cfg = tinyConfig({ vocab_size: 16384, hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1 });
    const { model, optimizer } = trained(cfg, false);
    const stateBytes = 2 * [...model.params.values()].reduce((a, v) => a + v.size * 4, 0);
    // Each file's copy buffer may still await collection when the next one is allocated.
    const bound = 2 * STREAM_CHUNK_BYTES + 2 * 1024 * 1024;
    expect(stateBytes).toBeGreaterThan(3 * bound);
    // Sample the process's array buffers at every write to a file: all the moments would be alive
    // at the optimizer file's writes if the save gathered them first.
    const out = tmpDir();
    const probe = await fsp.open(path.join(out, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const write = proto.write;
    let peak = 0;
    proto.write = function (this: unknown, ...a: unknown[]) {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      return write.apply(this, a);
    };
    retainedBytes(); // a full collection first
    const before = process.memoryUsage().arrayBuffers;
    try {
      await save(out, model, optimizer);
    } finally {
      proto.write = write;
    }
    expect(peak - before).toBeLessThan(bound);
    optimizer.dispose();
    model.dispose();
    await fsp.rm(out, { recursive: true });
  });
});
