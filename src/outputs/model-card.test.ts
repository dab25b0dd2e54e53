// Expected cards were printed by a Python mirror of transformers 4.57's modelcard.py
// (TrainingSummary.to_model_card, parse_log_history, make_markdown_table, _maybe_round,
// extract_hyperparameters_from_trainer; PyYAML 6 for the front matter) with ptflow's stated
// departures applied (tags, datasets, perplexity, model-index metrics, link only for Hub ids).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { evalMetrics, finalTrainLogEntry, evalLogEntry, trainLogEntry } from './log-entries';
import {
  frameworkVersions,
  maybeRound,
  renderModelCard,
  writeModelCard,
  type CardConfig,
  type CardHyperparameters,
  type ModelCardInput,
} from './model-card';
import { pyFloat } from './pyjson';
import { withPerplexity } from './results';

const CARD_A = `---
library_name: transformers
license: other
base_model: meta-llama/Llama-2-7b-hf
tags:
- ptflow
- full
- generated_from_trainer
datasets:
- c4_demo
model-index:
- name: pt
  results:
  - task:
      name: Causal Language Modeling
      type: text-generation
    dataset:
      name: c4_demo
      type: c4_demo
    metrics:
    - name: Loss
      type: loss
      value: 8.123456789
    - name: Perplexity
      type: perplexity
      value: 3372.6591888531575
---

<!-- This model card has been generated automatically according to the information the Trainer had access to. You
should probably proofread and complete it, then remove this comment. -->

# pt

This model is a fine-tuned version of [meta-llama/Llama-2-7b-hf](https://huggingface.co/meta-llama/Llama-2-7b-hf) on the c4_demo dataset.
It achieves the following results on the evaluation set:
- Loss: 8.1235
- Perplexity: 3372.6592

## Model description

More information needed

## Intended uses & limitations

More information needed

## Training and evaluation data

More information needed

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 5e-05
- train_batch_size: 2
- eval_batch_size: 4
- seed: 42
- gradient_accumulation_steps: 2
- total_train_batch_size: 4
- optimizer: Use OptimizerNames.ADAMW_TORCH with betas=(0.9,0.999) and epsilon=1e-08 and optimizer_args=No additional optimizer arguments
- lr_scheduler_type: cosine
- lr_scheduler_warmup_ratio: 0.1
- num_epochs: 1.0

### Training results

| Training Loss | Epoch | Step | Validation Loss |
|:-------------:|:-----:|:----:|:---------------:|
| No log        | 0.0   | 0    | 10.9877         |
| 10.1235       | 0.25  | 1    | 9.8765          |
| 8.5           | 0.75  | 3    | 8.4             |


### Framework versions

- ptflow 0.1.0
- TensorFlow.js 4.22.0
- TensorFlow.js backend wasm
`;

const CARD_B = `---
library_name: transformers
license: other
tags:
- ptflow
- lora
- generated_from_trainer
datasets:
- kjv
- wiki
- c4
model-index:
- name: tiny
  results:
  - task:
      name: Causal Language Modeling
      type: text-generation
    dataset:
      name: kjv
      type: kjv
    metrics:
    - name: Loss
      type: loss
      value: 9.87654321
  - task:
      name: Causal Language Modeling
      type: text-generation
    dataset:
      name: wiki
      type: wiki
    metrics:
    - name: Loss
      type: loss
      value: 9.87654321
  - task:
      name: Causal Language Modeling
      type: text-generation
    dataset:
      name: c4
      type: c4
    metrics:
    - name: Loss
      type: loss
      value: 9.87654321
---

<!-- This model card has been generated automatically according to the information the Trainer had access to. You
should probably proofread and complete it, then remove this comment. -->

# tiny

This model was trained from scratch on the kjv, the wiki and the c4 datasets.
It achieves the following results on the evaluation set:
- eval_loss: 9.8765
- eval_runtime: 1.25
- eval_samples_per_second: 12.8
- eval_steps_per_second: 3.2
- epoch: 0.25
- step: 1

## Model description

More information needed

## Intended uses & limitations

More information needed

## Training and evaluation data

More information needed

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 5e-05
- train_batch_size: 2
- eval_batch_size: 4
- seed: 42
- optimizer: Use OptimizerNames.ADAMW_TORCH with betas=(0.9,0.999) and epsilon=1e-08 and optimizer_args=No additional optimizer arguments
- lr_scheduler_type: cosine
- lr_scheduler_warmup_steps: 5
- training_steps: 100

### Framework versions

- ptflow 0.1.0
- TensorFlow.js 4.22.0
- TensorFlow.js backend wasm
`;

const CARD_C = `---
library_name: transformers
license: other
base_model: ./models/tiny llama
tags:
- ptflow
- freeze
- generated_from_trainer
model-index:
- name: tiny
  results: []
---

<!-- This model card has been generated automatically according to the information the Trainer had access to. You
should probably proofread and complete it, then remove this comment. -->

# tiny

This model is a fine-tuned version of ./models/tiny llama on an unknown dataset.

## Model description

More information needed

## Intended uses & limitations

More information needed

## Training and evaluation data

More information needed

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 5e-05
- train_batch_size: 2
- eval_batch_size: 4
- seed: 42
- gradient_accumulation_steps: 2
- total_train_batch_size: 4
- optimizer: Use OptimizerNames.ADAMW_TORCH with betas=(0.9,0.999) and epsilon=1e-08 and optimizer_args=No additional optimizer arguments
- lr_scheduler_type: cosine
- lr_scheduler_warmup_ratio: 0.1
- num_epochs: 1.0

### Framework versions

- ptflow 0.1.0
- TensorFlow.js 4.22.0
- TensorFlow.js backend wasm
`;

const ev = (loss: number, runtime: number, epoch: number, step: number) =>
  evalLogEntry({ loss, runtimeSeconds: runtime, numSamples: 16, numSteps: 4, epoch, step });
const HISTORY = [
  ev(10.987654321, 1.5, 0, 0),
  trainLogEntry({ meanLoss: 10.123456, gradNorm: 3.5, learningRate: 5e-5, epoch: 0.25, step: 1 }),
  ev(9.87654321, 1.25, 0.25, 1),
  trainLogEntry({ meanLoss: 9, gradNorm: 2, learningRate: 4e-5, epoch: 0.5, step: 2 }),
  trainLogEntry({ meanLoss: 8.5, gradNorm: 1, learningRate: 3e-5, epoch: 0.75, step: 3 }),
  ev(8.4, 1, 0.75, 3),
  finalTrainLogEntry({ runtimeSeconds: 10, numSamples: 32, numSteps: 4, totalFlos: 1234, trainLoss: 9, epoch: 1, step: 4 }),
];
const FINAL_EVAL = withPerplexity(evalMetrics({ loss: 8.123456789, runtimeSeconds: 1.5, numSamples: 16, numSteps: 4, epoch: 1 }));
const HP: CardHyperparameters = {
  learningRate: 5e-5,
  trainBatchSize: 2,
  evalBatchSize: 4,
  seed: 42,
  gradientAccumulationSteps: 2,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  lrSchedulerType: 'cosine',
  warmupRatio: 0.1,
  warmupSteps: 0,
  maxSteps: -1,
  numTrainEpochs: 1,
};
const VERSIONS: [string, string][] = [
  ['ptflow', '0.1.0'],
  ['TensorFlow.js', '4.22.0'],
  ['TensorFlow.js backend', 'wasm'],
];

test('continued pre-training card: front matter, results, hyperparameters, a table row per eval', () => {
  const input: ModelCardInput = {
    modelName: 'pt',
    baseModel: 'meta-llama/Llama-2-7b-hf',
    tags: ['ptflow', 'full'],
    datasets: ['c4_demo'],
    logHistory: HISTORY,
    evalMetrics: FINAL_EVAL,
    hyperparameters: HP,
    frameworkVersions: VERSIONS,
  };
  const card = renderModelCard(input);
  expect(card).toBe(CARD_A);
  for (const key of ['library_name: transformers', 'license: other', 'base_model:', 'tags:', 'datasets:', 'model-index:']) {
    expect(card).toContain(`\n${key}`);
  }
  const rows = card.split('\n').filter((l) => /^\| (No log|\d)/.test(l));
  expect(rows).toHaveLength(HISTORY.filter((e) => 'eval_loss' in e).length);
});

test('from scratch, several datasets, no training summary yet: HF lists the raw eval entry', () => {
  const card = renderModelCard({
    modelName: 'tiny',
    baseModel: null,
    tags: ['ptflow', 'lora'],
    datasets: ['kjv', 'wiki', 'c4'],
    logHistory: HISTORY.slice(0, 3),
    hyperparameters: { ...HP, warmupRatio: 0, warmupSteps: 5, maxSteps: 100, gradientAccumulationSteps: 1 },
    frameworkVersions: VERSIONS,
  });
  expect(card).toBe(CARD_B);
  expect(card).not.toContain('base_model');
  expect(card).not.toContain('### Training results');
});

test('local base model, no datasets, no logs', () => {
  const card = renderModelCard({
    modelName: 'tiny',
    baseModel: './models/tiny llama',
    tags: ['ptflow', 'freeze'],
    datasets: [],
    logHistory: [],
    hyperparameters: HP,
    frameworkVersions: VERSIONS,
  });
  expect(card).toBe(CARD_C);
});

test('_maybe_round', () => {
  expect(maybeRound(pyFloat(2.34565))).toBe('2.3457');
  expect(maybeRound(pyFloat(0.03125))).toBe('0.0312');
  expect(maybeRound(pyFloat(1.5e-7))).toBe('0.0000');
  expect(maybeRound(pyFloat(1e-5))).toBe('1e-05');
  expect(maybeRound(pyFloat(3))).toBe('3.0');
  expect(maybeRound(pyFloat(Infinity))).toBe('inf');
  expect(maybeRound(pyFloat(-0.00001234))).toBe('-0.0000');
  expect(maybeRound(7)).toBe('7');
  expect(maybeRound('No log')).toBe('No log');
});

test('writeModelCard builds the card from the run configuration', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ptflow-card-')), 'saves', 'tiny-pt');
  const config: CardConfig = {
    model_name_or_path: 'examples/tiny-llama',
    train_from_scratch: true,
    finetuning_type: 'full',
    dataset: ['kjv'],
    learning_rate: 1e-3,
    per_device_train_batch_size: 4,
    per_device_eval_batch_size: 4,
    seed: 7,
    gradient_accumulation_steps: 1,
    adam_beta1: 0.9,
    adam_beta2: 0.95,
    adam_epsilon: 1e-8,
    lr_scheduler_type: 'linear',
    warmup_ratio: 0,
    warmup_steps: 0,
    max_steps: 20,
    num_train_epochs: 3,
  };
  const file = await writeModelCard(dir, { config, logHistory: HISTORY, evalMetrics: FINAL_EVAL, backend: 'cpu' });
  const card = readFileSync(file, 'utf8');
  expect(path.basename(file)).toBe('README.md');
  expect(card).toContain('\n# tiny-pt\n\nThis model was trained from scratch on the kjv dataset.\n');
  expect(card).toContain('- optimizer: Use OptimizerNames.ADAMW_TORCH with betas=(0.9,0.95) and epsilon=1e-08');
  expect(card).toContain('- learning_rate: 0.001\n');
  expect(card).toContain('- training_steps: 20\n');
  expect(card).toContain('\n- TensorFlow.js backend cpu\n');
  expect(card.startsWith('---\nlibrary_name: transformers\n')).toBe(true);
  const lora = await writeModelCard(dir, { config: { ...config, finetuning_type: 'lora', train_from_scratch: false }, logHistory: [], backend: 'cpu' });
  const loraCard = readFileSync(lora, 'utf8');
  expect(loraCard.startsWith('---\nlibrary_name: peft\nlicense: other\nbase_model: examples/tiny-llama\ntags:\n- ptflow\n- lora\n')).toBe(true);
  const versions = Object.fromEntries(frameworkVersions('cpu'));
  expect(versions.ptflow).toMatch(/^\d+\.\d+\.\d+/);
  expect(versions['TensorFlow.js']).toMatch(/^4\./);
});
