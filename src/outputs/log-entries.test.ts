// Expected numbers are what transformers' speed_metrics / round(...) give in CPython 3.11.
import { epochAt, evalMetrics, finalTrainMetrics, floatingPointOps, speedMetrics, trainLogEntry } from './log-entries';

test('speed_metrics rounds runtime to 4 places and rates to 3', () => {
  expect(speedMetrics('train', 3.14159265, { numSamples: 100, numSteps: 13, numTokens: 5000 })).toEqual({
    train_runtime: 3.1416,
    train_samples_per_second: 31.831,
    train_steps_per_second: 4.138,
    train_tokens_per_second: 1591.549,
  });
  expect(speedMetrics('eval', 0, { numSamples: 8, numSteps: 1 })).toEqual({ eval_runtime: 0 });
});

test('training log: loss rounded to 4 places, key order as HF inserts them', () => {
  const e = trainLogEntry({ meanLoss: 2.34565, gradNorm: 0.123456789, learningRate: 1e-4, epoch: epochAt(0, 3, 9), step: 3 });
  expect(e).toEqual({ loss: 2.3457, grad_norm: 0.123456789, learning_rate: 1e-4, epoch: 0.3333333333333333, step: 3 });
  expect(Object.keys(e)).toEqual(['loss', 'grad_norm', 'learning_rate', 'epoch', 'step']);
  const noNorm = trainLogEntry({ meanLoss: 1.00015, gradNorm: null, learningRate: 0, epoch: null, step: 1, numInputTokensSeen: 64 });
  expect(Object.keys(noNorm)).toEqual(['loss', 'learning_rate', 'num_input_tokens_seen', 'step']);
  expect(noNorm.loss).toBe(1.0002);
});

test('eval and final metrics carry epoch but not step, in HF order', () => {
  const ev = evalMetrics({ loss: 3.5, runtimeSeconds: 2, numSamples: 10, numSteps: 3, epoch: 1.5 });
  expect(Object.entries(ev)).toEqual([
    ['eval_loss', 3.5],
    ['eval_runtime', 2],
    ['eval_samples_per_second', 5],
    ['eval_steps_per_second', 1.5],
    ['epoch', 1.5],
  ]);
  const fin = finalTrainMetrics({ runtimeSeconds: 4, numSamples: 6, numSteps: 2, totalFlos: 1e12, trainLoss: 3.25, epoch: 3 });
  expect(Object.keys(fin)).toEqual([
    'train_runtime',
    'train_samples_per_second',
    'train_steps_per_second',
    'total_flos',
    'train_loss',
    'epoch',
  ]);
  expect(fin.train_samples_per_second).toBe(1.5);
  expect(epochAt(2, 7, 7)).toBe(3);
  expect(() => epochAt(0, 1, 0)).toThrow(/per epoch must be positive/);
});

test('floating_point_ops = 6 × tokens × non-embedding parameters', () => {
  // A batch of 8 × 2048 tokens through a 1.1e9-parameter model (embeddings excluded).
  expect(floatingPointOps(8 * 2048, 1.1e9)).toBe(6 * 16384 * 1.1e9);
  expect(floatingPointOps(0, 1e6)).toBe(0);
});
