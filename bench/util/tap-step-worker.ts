/**
 * Worker thread of bench/tap.ts: the reference training step, as TrainerActor runs it (in its own
 * thread, telemetry posted to the main thread). On each `{ steps }` message it runs that many steps
 * and answers with their wall times; each step also posts a train.step event as the trainer does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../src/engine/backend';
import { LlamaModel } from '../../src/engine/model/llama';
import { AdamW } from '../../src/engine/optim/adamw';
import { TrainStep } from '../../src/engine/train-step';
import { REFERENCE_SHAPE, randomBatch, referenceConfig } from './reference-model';

export type StepWorkerIn = { steps: number };
export type StepWorkerOut = { t: 'ready' } | { t: 'event'; step: number; loss: number; ms: number } | { t: 'round'; ms: number[] };

async function main(): Promise<void> {
  const port = parentPort!;
  const { threads } = workerData as { threads?: number };
  await initBackend('wasm', threads !== undefined ? { threads } : {});
  const cfg = referenceConfig();
  const model = LlamaModel.init(cfg, 42);
  const opt = new AdamW(model.trainableParams(), { weightDecay: 0.01 });
  const trainStep = new TrainStep(model, opt, () => 1e-3, { maxGradNorm: 1 });
  const batch = randomBatch(cfg.vocabSize, REFERENCE_SHAPE.batchSize, REFERENCE_SHAPE.seqLen);
  trainStep.step([batch]); // warm-up
  let n = 0;
  port.on('message', (m: StepWorkerIn) => {
    const ms: number[] = [];
    for (let i = 0; i < m.steps; i++) {
      const t0 = performance.now();
      const loss = trainStep.step([batch]).loss;
      const dt = performance.now() - t0;
      ms.push(dt);
      port.postMessage({ t: 'event', step: ++n, loss, ms: dt } satisfies StepWorkerOut);
    }
    port.postMessage({ t: 'round', ms } satisfies StepWorkerOut);
  });
  port.postMessage({ t: 'ready' } satisfies StepWorkerOut);
}

void main();
