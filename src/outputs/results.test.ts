// Expected texts are what transformers' save_metrics (json.dump(indent=4, sort_keys=True)) wrote
// in CPython 3.11 for the same metrics; 7.38905609893065 is math.exp(2.0) there.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { evalMetrics, finalTrainMetrics } from './log-entries';
import { perplexity, resultsJson, saveMetrics, withPerplexity } from './results';

const TRAIN = {
  train_runtime: 12.3457,
  train_samples_per_second: 4.86,
  train_steps_per_second: 0.243,
  total_flos: 1234567,
  train_loss: 3,
  epoch: 1,
};
const EVAL = { eval_loss: 2, eval_runtime: 0.5, eval_samples_per_second: 16, eval_steps_per_second: 4, epoch: 1 };

test('perplexity is exp(loss), Infinity on overflow', () => {
  expect(perplexity(2)).toBe(7.38905609893065);
  expect(perplexity(Math.log(2))).toBe(2);
  expect(perplexity(1000)).toBe(Infinity);
  expect(resultsJson({ eval_perplexity: perplexity(1000) })).toBe('{\n    "eval_perplexity": Infinity\n}');
  expect(withPerplexity({ eval_loss: 2 }).eval_perplexity).toBe(7.38905609893065);
  expect(() => withPerplexity({ loss: 2 })).toThrow(/no "eval_loss"/);
});

test('train_results / eval_results / all_results as save_metrics writes them', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-results-'));
  // An all_results.json from an earlier run: its keys survive, with their int/float spelling.
  writeFileSync(path.join(dir, 'all_results.json'), '{\n    "epoch": 0.5,\n    "old_key": 7\n}');
  const train = finalTrainMetrics({ runtimeSeconds: 12.34567, numSamples: 60, numSteps: 3, totalFlos: 1234567, trainLoss: 3, epoch: 1 });
  expect(train).toEqual(TRAIN);
  await saveMetrics(dir, 'train', train);
  const ev = withPerplexity(evalMetrics({ loss: 2, runtimeSeconds: 0.5, numSamples: 8, numSteps: 2, epoch: 1 }));
  expect(ev).toEqual({ ...EVAL, eval_perplexity: 7.38905609893065 });
  await saveMetrics(dir, 'eval', ev);
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  expect(read('train_results.json')).toBe(
    '{\n    "epoch": 1.0,\n    "total_flos": 1234567.0,\n    "train_loss": 3.0,\n    "train_runtime": 12.3457,\n    "train_samples_per_second": 4.86,\n    "train_steps_per_second": 0.243\n}',
  );
  expect(read('eval_results.json')).toBe(
    '{\n    "epoch": 1.0,\n    "eval_loss": 2.0,\n    "eval_perplexity": 7.38905609893065,\n    "eval_runtime": 0.5,\n    "eval_samples_per_second": 16.0,\n    "eval_steps_per_second": 4.0\n}',
  );
  expect(read('all_results.json')).toBe(
    '{\n    "epoch": 1.0,\n    "eval_loss": 2.0,\n    "eval_perplexity": 7.38905609893065,\n    "eval_runtime": 0.5,\n    "eval_samples_per_second": 16.0,\n    "eval_steps_per_second": 4.0,\n    "old_key": 7,\n    "total_flos": 1234567.0,\n    "train_loss": 3.0,\n    "train_runtime": 12.3457,\n    "train_samples_per_second": 4.86,\n    "train_steps_per_second": 0.243\n}',
  );
});

test('a broken all_results.json is an error naming it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptflow-results-'));
  writeFileSync(path.join(dir, 'all_results.json'), '[1, 2]');
  await expect(saveMetrics(dir, 'eval', EVAL)).rejects.toThrow(/all_results\.json: expected a JSON object/);
  writeFileSync(path.join(dir, 'all_results.json'), '{"a": }');
  await expect(saveMetrics(dir, 'eval', EVAL)).rejects.toThrow(/all_results\.json:1:7/);
});
