import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtflowError } from '../errors';
import { loadTrainConfig } from './load';

const dir = mkdtempSync(join(tmpdir(), 'ptflow-config-'));
let n = 0;

/** Writes `text` to a fresh YAML file and returns its path. */
function yamlFile(text: string): string {
  const p = join(dir, `cfg${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

const BASE = 'model_name_or_path: models/tiny\noutput_dir: saves/tiny\ndo_train: true\ndataset: demo\n';

function load(extra = '', overrides: string[] = []) {
  return loadTrainConfig(yamlFile(BASE + extra), overrides);
}

/** The usage error thrown by `fn` (fails the test when nothing or something else is thrown). */
function usageErrorOf(fn: () => unknown): PtflowError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PtflowError);
    expect((e as PtflowError).exitCode).toBe(2);
    return e as PtflowError;
  }
  throw new Error('expected a usage error, nothing was thrown');
}

describe('defaults', () => {
  it('fills every key with the LLaMA-Factory / HF 4.57 default', () => {
    const { config, warnings } = load();
    // Written out by hand from LLaMA-Factory hparams/*.py, HF TrainingArguments and ptflow's own choices.
    expect(config).toEqual({
      model_name_or_path: 'models/tiny',
      train_from_scratch: false,
      dataset: ['demo'],
      eval_dataset: null,
      dataset_dir: 'data',
      cutoff_len: 2048,
      packing: true,
      neat_packing: false,
      max_samples: null,
      val_size: 0,
      streaming: false,
      buffer_size: 16384,
      mix_strategy: 'concat',
      interleave_probs: null,
      tokenized_path: null,
      overwrite_cache: false,
      stage: 'pt',
      finetuning_type: 'lora',
      freeze_trainable_layers: 2,
      freeze_trainable_modules: ['all'],
      lora_rank: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      lora_target: ['all'],
      disable_gradient_checkpointing: false,
      disable_shuffling: false,
      plot_loss: false,
      output_dir: 'saves/tiny',
      overwrite_output_dir: false,
      do_train: true,
      do_eval: false,
      per_device_train_batch_size: 8,
      per_device_eval_batch_size: 8,
      gradient_accumulation_steps: 1,
      gradient_checkpointing: null,
      learning_rate: 5e-5,
      num_train_epochs: 3,
      max_steps: -1,
      lr_scheduler_type: 'linear',
      lr_scheduler_kwargs: {},
      warmup_ratio: 0,
      warmup_steps: 0,
      webgpu_allow_software: false,
      weight_decay: 0,
      adam_beta1: 0.9,
      adam_beta2: 0.999,
      adam_epsilon: 1e-8,
      max_grad_norm: 1,
      logging_steps: 500,
      save_strategy: 'steps',
      save_steps: 500,
      save_total_limit: null,
      save_only_model: false,
      eval_strategy: 'no',
      eval_steps: null,
      seed: 42,
      data_seed: null,
      resume_from_checkpoint: null,
      include_num_input_tokens_seen: false,
      ignore_data_skip: false, // HF TrainingArguments default
      rebase_data_cursor: false,
      report_to: [],
      run_name: null,
      logging_dir: null,
      ddp_bucket_cap_mb: null,
      ddp_timeout: 1800, // HF TrainingArguments default
      backend: 'auto',
      num_threads: null,
      tokenizer_workers: null,
      prefetch_batches: 4,
      prefetch_bytes: 268435456,
      on_bad_record: 'error',
      skip_nonfinite_steps: false,
      tap_port: null,
      tap_host: '127.0.0.1',
      tap_token: null,
      tap_max_clients: 32,
      tap_history: 2000,
      pipeline: [],
    });
    expect(warnings).toEqual([]);
  });

  it('derives lora_alpha, packing, eval_steps and do_eval', () => {
    expect(load('lora_rank: 16\n').config.lora_alpha).toBe(32);
    expect(load('lora_rank: 16\nlora_alpha: 8\n').config.lora_alpha).toBe(8);
    expect(load('packing: false\n').config.packing).toBe(false);
    expect(load('packing: null\n').config.packing).toBe(true);
    expect(load('neat_packing: true\n').config.packing).toBe(true);
    const steps = load('val_size: 0.1\neval_strategy: steps\nlogging_steps: 25\n').config;
    expect(steps.eval_steps).toBe(25);
    expect(steps.do_eval).toBe(true);
    expect(load('val_size: 0.1\neval_strategy: steps\neval_steps: 7\n').config.eval_steps).toBe(7);
    expect(load('val_size: 0.1\neval_strategy: epoch\n').config).toMatchObject({ do_eval: true, eval_steps: null });
  });

  it('keeps ratio intervals raw', () => {
    expect(load('logging_steps: 0.1\nsave_steps: 0.25\n').config).toMatchObject({ logging_steps: 0.1, save_steps: 0.25 });
  });
});

describe('values as YAML and the HF parser read them', () => {
  it('accepts numeric strings, boolean words, comma lists, byte sizes, JSON kwargs', () => {
    const { config } = load(
      [
        'learning_rate: "5e-5"',
        'cutoff_len: "1024"',
        'weight_decay: 1e-2',
        'overwrite_output_dir: yes',
        'plot_loss: "True"',
        'eval_dataset: a, b ,c',
        'lora_target: [q_proj, v_proj]',
        'prefetch_bytes: 64MiB',
        'lr_scheduler_type: cosine',
        `lr_scheduler_kwargs: '{"num_cycles": 0.25}'`,
        'run_name: 7',
        'resume_from_checkpoint: true',
        'report_to: none',
        '',
      ].join('\n'),
    );
    expect(config.learning_rate).toBe(5e-5);
    expect(config.cutoff_len).toBe(1024);
    expect(config.weight_decay).toBe(0.01);
    expect(config.overwrite_output_dir).toBe(true);
    expect(config.plot_loss).toBe(true);
    expect(config.eval_dataset).toEqual(['a', 'b', 'c']);
    expect(config.lora_target).toEqual(['q_proj', 'v_proj']);
    expect(config.prefetch_bytes).toBe(64 * 1024 * 1024);
    expect(config.lr_scheduler_kwargs).toEqual({ num_cycles: 0.25 });
    expect(config.run_name).toBe('7');
    expect(config.resume_from_checkpoint).toBe(true);
    expect(config.report_to).toEqual([]);
  });

  it('reads resume_from_checkpoint as a path, true or nothing', () => {
    expect(load('resume_from_checkpoint: saves/tiny/checkpoint-20\n').config.resume_from_checkpoint).toBe('saves/tiny/checkpoint-20');
    expect(load('resume_from_checkpoint: false\n').config.resume_from_checkpoint).toBeNull();
    expect(load('', ['resume_from_checkpoint=true']).config.resume_from_checkpoint).toBe(true);
  });
});

describe('overrides', () => {
  it('win over the file, later ones over earlier ones, and are read as YAML scalars', () => {
    const { config } = load('max_steps: 5\npacking: true\nlearning_rate: 1e-3\n', [
      'max_steps=10',
      'packing=false',
      'dataset=a,b',
      'learning_rate=2e-4',
      'max_steps=20',
      '--seed=7',
    ]);
    expect(config.max_steps).toBe(20);
    expect(config.packing).toBe(false);
    expect(config.dataset).toEqual(['a', 'b']);
    expect(config.learning_rate).toBe(2e-4);
    expect(config.seed).toBe(7);
  });

  it('set one entry of a mapping key with key.sub=value, keeping the file entries', () => {
    const { config } = load('lr_scheduler_type: warmup_stable_decay\nlr_scheduler_kwargs:\n  num_stable_steps: 10\n', [
      'lr_scheduler_kwargs.num_decay_steps=5',
    ]);
    expect(config.lr_scheduler_kwargs).toEqual({ num_stable_steps: 10, num_decay_steps: 5 });
  });

  it('can unset a key: key= is null', () => {
    const { config } = load('max_samples: 100\n', ['max_samples=']);
    expect(config.max_samples).toBeNull();
  });

  it('reject malformed arguments', () => {
    expect(usageErrorOf(() => load('', ['max_steps'])).message).toBe(
      "bad argument 'max_steps' on the command line: expected key=value (e.g. max_steps=100)",
    );
    expect(usageErrorOf(() => load('', ['max steps=3'])).message).toMatch(/'max steps' is not a config key name/);
    expect(usageErrorOf(() => load('', ['max_steps.x=3'])).message).toMatch(/'max_steps' is not a mapping/);
  });

  it('reject unknown keys with a suggestion naming the command line', () => {
    expect(usageErrorOf(() => load('', ['max_step=3'])).message).toBe(
      "unknown key 'max_step' on the command line ('max_step=3') — did you mean 'max_steps'?",
    );
  });
});

describe('errors in the file', () => {
  it('unknown key: names file, line and the closest key', () => {
    const p = yamlFile(BASE + 'learnig_rate: 1e-4\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toBe(`unknown key 'learnig_rate' in ${p}:5 — did you mean 'learning_rate'?`);
  });

  it('unknown key far from every key: points to --help', () => {
    const p = yamlFile(BASE + 'completely_unrelated_thing: 1\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toBe(
      `unknown key 'completely_unrelated_thing' in ${p}:5 — see 'ptflow train --help' for the keys`,
    );
  });

  it('misspelt foreign key is also suggested', () => {
    expect(usageErrorOf(() => load('templat: llama2\n')).message).toMatch(/did you mean 'template'\?$/);
  });

  it.each([
    ['learning_rate: abc', "'learning_rate' must be a number, got 'abc'"],
    ['learning_rate: .inf', "'learning_rate' must be a number, got Infinity"],
    ['learning_rate: -1', "'learning_rate' must be >= 0, got -1"],
    ['cutoff_len: 2.5', "'cutoff_len' must be an integer, got 2.5"],
    ['cutoff_len: 1', "'cutoff_len' must be >= 2, got 1"],
    ['overwrite_output_dir: maybe', "'overwrite_output_dir' must be true or false, got 'maybe'"],
    ['finetuning_type: qlora', "'finetuning_type' must be one of: full, freeze, lora, got 'qlora'"],
    ['lr_scheduler_type: cosine_with_min_lr', "'lr_scheduler_type' must be one of: linear, cosine,"],
    ['eval_dataset: {a: 1}', "'eval_dataset' must be a name or a comma-separated list of names, got {\"a\":1}"],
    ['lr_scheduler_kwargs: [1, 2]', "'lr_scheduler_kwargs' must be a mapping"],
    ['val_size: 1.5', "'val_size' must be a fraction in [0, 1) or a whole number of documents > 1, got 1.5"],
    ['val_size: 1', "'val_size' must be a fraction in [0, 1) or a whole number of documents > 1, got 1"],
    ['max_steps: 0', "'max_steps' must be -1 (use num_train_epochs) or a positive number of steps, got 0"],
    ['logging_steps: 2.5', "'logging_steps' must be an integer when > 1"],
    ['logging_steps: 0', "'logging_steps' must be > 0, got 0"],
    ['warmup_ratio: 1.5', "'warmup_ratio' must be <= 1, got 1.5"],
    ['adam_beta2: 1', "'adam_beta2' must be < 1, got 1"],
    ['freeze_trainable_layers: 0', "'freeze_trainable_layers' must not be 0"],
    ['interleave_probs: 0.5,abc', "'interleave_probs' (item 1) must be a list of numbers, got '0.5,abc'"],
    ['prefetch_bytes: lots', "'prefetch_bytes' must be a byte count"],
    ['tap_port: 70000', "'tap_port' must be <= 65535, got 70000"],
    ['resume_from_checkpoint: 3.5', "'resume_from_checkpoint' must be a checkpoint directory, true"],
    ['cutoff_len: null', "'cutoff_len' must be an integer, got null"],
  ])('wrong type or range: %s', (line, expected) => {
    const p = yamlFile(BASE + line + '\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toContain(`${p}:5: ${expected}`);
  });

  it('stage other than pt explains that ptflow pre-trains only', () => {
    const p = yamlFile('stage: sft\n' + BASE);
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toBe(
      `${p}:1: 'stage' must be 'pt': ptflow does pre-training only (sft, rm, ppo, dpo and kto are ` +
        "LLaMA-Factory stages that ptflow does not implement), got 'sft'",
    );
  });

  it('reports the type error of the key set first', () => {
    const p = yamlFile(BASE + 'seed: x\ncutoff_len: y\n');
    expect(usageErrorOf(() => loadTrainConfig(p, ['max_steps=z'])).message).toMatch(new RegExp(`^${p}:5: 'seed'`));
  });

  it('YAML syntax error: file:line:col', () => {
    const p = yamlFile('model_name_or_path: m\ndataset: [a, b\noutput_dir: o\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toMatch(new RegExp(`^YAML syntax error in ${p}:3:1: `));
    const q = yamlFile('seed: 1\n\tcutoff_len: 2\n');
    expect(usageErrorOf(() => loadTrainConfig(q, [])).message).toBe(`YAML syntax error in ${q}:2:1: Tabs are not allowed as indentation`);
    const r = yamlFile('seed: 1\nmax_steps: 2\n cutoff_len: 3\n');
    expect(usageErrorOf(() => loadTrainConfig(r, [])).message).toMatch(new RegExp(`^YAML syntax error in ${r}:2:12: Nested mappings`));
  });

  it('duplicate key: names its line', () => {
    const p = yamlFile(BASE + 'seed: 1\nseed: 2\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toMatch(new RegExp(`^YAML syntax error in ${p}:6:1: Map keys must be unique`));
  });

  it('top level not a mapping', () => {
    const p = yamlFile('- a\n- b\n');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toBe(`${p}:1: the config must be a mapping of 'key: value' lines`);
  });

  it('missing file / a directory', () => {
    const missing = join(dir, 'nope.yaml');
    expect(usageErrorOf(() => loadTrainConfig(missing, [])).message).toBe(`config file '${missing}' not found`);
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    expect(usageErrorOf(() => loadTrainConfig(sub, [])).message).toBe(`config file '${sub}' is a directory, expected a YAML file`);
  });

  it('empty file: the required keys are missing', () => {
    const p = yamlFile('');
    expect(usageErrorOf(() => loadTrainConfig(p, [])).message).toMatch(new RegExp(`^missing key 'model_name_or_path' in ${p}`));
    expect(usageErrorOf(() => loadTrainConfig(p, ['model_name_or_path=m'])).message).toMatch(/^missing key 'output_dir'/);
  });
});

/** BASE plus `extra`, without BASE's `dataset` line when `extra` sets its own. */
function withData(extra: string): string {
  return (/^dataset:/m.test(extra) ? BASE.replace('dataset: demo\n', '') : BASE) + extra;
}

describe('forbidden combinations', () => {
  const cases: [string, string[], string][] = [
    ['streaming: true\n', [], 'Please specify `max_steps` in streaming mode.'],
    ['streaming: true\nmax_steps: 10\nmax_samples: 5\n', [], '`max_samples` is incompatible with `streaming`.'],
    ['streaming: true\nmax_steps: 10\nval_size: 0.1\n', [], 'Streaming mode should have an integer val size.'],
    ['do_eval: true\n', [], 'Please make sure eval_dataset be provided or val_size >1e-6'],
    ['eval_strategy: steps\n', [], 'Please make sure eval_dataset be provided or val_size >1e-6'],
    ['eval_dataset: ev\nval_size: 0.1\n', [], 'Cannot specify `val_size` if `eval_dataset` is not None.'],
    ['', ['dataset=', 'do_train=false', 'val_size=0.1'], 'Cannot specify `val_size` if `dataset` is None.'],
    ['', ['dataset='], 'Please specify dataset for training.'],
    ['interleave_probs: 0.5,0.5\ndataset: a,b\n', [], '`interleave_probs` is only valid for interleaved mixing.'],
    ['mix_strategy: interleave_under\ninterleave_probs: 0.5,0.5\n', [], 'The length of dataset and interleave probs should be identical'],
    ['mix_strategy: interleave_over\ndataset: a,b\ninterleave_probs: 0.2,0.7\n', [], '`interleave_probs` must sum to 1'],
    ['neat_packing: true\npacking: false\n', [], '`neat_packing` is packing with cross-document masking'],
    ['lr_scheduler_kwargs: {num_cycles: 0.5}\n', [], "lr_scheduler_kwargs 'num_cycles' is not an argument of the linear schedule"],
  ];
  it.each(cases)('%s %j', (extra, overrides, message) => {
    const p = yamlFile(withData(extra));
    expect(usageErrorOf(() => loadTrainConfig(p, overrides)).message).toContain(message);
  });

  it('names where each involved key was set', () => {
    const p = yamlFile(BASE + 'streaming: true\n');
    expect(usageErrorOf(() => loadTrainConfig(p, ['max_samples=9', 'max_steps=3'])).message).toBe(
      `\`max_samples\` is incompatible with \`streaming\`. (streaming: ${p}:5; max_samples: command line 'max_samples=9')`,
    );
  });

  it('accepts the valid neighbours of those combinations', () => {
    expect(() => load('streaming: true\nmax_steps: 10\nval_size: 100\n')).not.toThrow();
    expect(() => load('do_eval: true\neval_dataset: ev\n')).not.toThrow();
    expect(() => loadTrainConfig(yamlFile(withData('mix_strategy: interleave_under\ndataset: a,b\ninterleave_probs: 0.25,0.75\n')), [])).not.toThrow();
    expect(() => load('lr_scheduler_type: cosine\nlr_scheduler_kwargs: {num_cycles: 0.5}\n')).not.toThrow();
  });
});

describe('foreign keys and warnings', () => {
  it('accepts common LLaMA-Factory / HF keys with one warning each', () => {
    const { warnings } = load('template: default\ntrust_remote_code: true\nddp_find_unused_parameters: false\npreprocessing_num_workers: 16\nflash_attn: auto\n');
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/^'template: default' \(.*:5\) is ignored: /);
    expect(warnings.map((w) => w.split(':')[0])).toEqual(["'template", "'trust_remote_code", "'ddp_find_unused_parameters", "'preprocessing_num_workers", "'flash_attn"]);
  });

  it('says bf16 / fp16 / quantization / deepspeed cannot be honoured when asked for', () => {
    const { warnings } = load('bf16: true\nfp16: true\npure_bf16: true\nquantization_bit: 4\ndeepspeed: ds_z3.json\n');
    expect(warnings).toHaveLength(5);
    for (const w of warnings) expect(w).toMatch(/cannot be honoured/);
    expect(warnings[0]).toMatch(/float32/);
    expect(warnings[3]).toMatch(/^'quantization_bit: 4'/);
  });

  it('says bf16: false is merely ignored, and the command line value counts', () => {
    expect(load('bf16: false\n').warnings).toEqual([expect.stringMatching(/^'bf16: false' \(.*\) is ignored: /)]);
    expect(load('bf16: true\n', ['bf16=false']).warnings).toEqual([
      "'bf16: false' (command line 'bf16=false') is ignored: ptflow trains and evaluates in float32; bf16 mixed precision would give different results",
    ]);
  });

  it('rejects an unsupported method that is asked for, accepts its neutral value', () => {
    expect(usageErrorOf(() => load('use_galore: true\n')).message).toMatch(/^'use_galore: true' \(.*:5\) is not supported: GaLore/);
    expect(usageErrorOf(() => load('optim: sgd\n')).message).toMatch(/ptflow implements AdamW only/);
    expect(load('optim: adamw_torch\nuse_dora: false\n').warnings).toHaveLength(2);
  });

  it('evaluation_strategy is an alias of eval_strategy (warned), both at once is an error', () => {
    const { config, warnings } = load('val_size: 0.1\nevaluation_strategy: epoch\n');
    expect(config.eval_strategy).toBe('epoch');
    expect(warnings).toEqual([expect.stringMatching(/'evaluation_strategy' in .*:6 is the old name of 'eval_strategy'/)]);
    expect(usageErrorOf(() => load('eval_strategy: no\nevaluation_strategy: epoch\n')).message).toMatch(/are the same setting: keep only 'eval_strategy'/);
  });

  it('warns about settings without effect', () => {
    expect(load('finetuning_type: full\nlora_rank: 16\n').warnings).toEqual([
      expect.stringMatching(/^'lora_rank' \(lora_rank: .*:6\) has no effect with finetuning_type full/),
    ]);
    expect(load('train_from_scratch: true\n').warnings[0]).toMatch(/train_from_scratch with finetuning_type lora trains only the LoRA adapters/);
    expect(load('finetuning_type: full\ntrain_from_scratch: true\n').warnings).toEqual([]);
    expect(load('warmup_ratio: 0.1\nwarmup_steps: 5\n').warnings).toEqual(['both warmup_ratio and warmup_steps are given: warmup_steps overrides warmup_ratio']);
    expect(load('report_to: wandb,tensorboard\n').warnings).toEqual([
      'report_to wandb is ignored: ptflow writes trainer_log.jsonl, and TensorBoard event files with report_to: tensorboard',
    ]);
    expect(load('report_to: wandb,tensorboard\n').config.report_to).toEqual(['wandb', 'tensorboard']);
    expect(load('report_to: TensorBoard\n')).toMatchObject({ config: expect.objectContaining({ report_to: ['tensorboard'] }), warnings: [] });
    expect(load('report_to: all\nlogging_dir: tb\n')).toMatchObject({ config: expect.objectContaining({ report_to: ['tensorboard'] }), warnings: [] });
    expect(load('logging_dir: tb\n').warnings).toEqual(['logging_dir has no effect without report_to: tensorboard']);
    expect(load('', ['do_train=false']).warnings).toEqual(['neither do_train nor do_eval is true: there is nothing to do']);
  });
});
